"""BM25 over a corpus with bm25s (lower-casing, English stop words, no stemming)."""

from __future__ import annotations

import logging

import numpy as np

from corpusfit.retrieve.settings import default
from corpusfit.retrieve.trec import TrecRun

logger = logging.getLogger(__name__)


class BM25Index:
    """A bm25s index over document texts, with ids kept alongside."""

    def __init__(self, doc_ids: list[str], texts: list[str], k1: float = 1.5, b: float = 0.75,
                 stopwords: str | None = "en"):
        import bm25s

        # bm25s sets its own logger to DEBUG on import; keep its chatter out of our logs.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.doc_ids = list(doc_ids)
        self.stopwords = stopwords
        self._bm25s = bm25s
        self.model = bm25s.BM25(k1=k1, b=b)
        tokens = bm25s.tokenize(texts, lower=True, stopwords=stopwords, show_progress=False)
        self.model.index(tokens, show_progress=False)

    def search(self, queries: list[str], k: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """Return (doc indices, scores), each (n_queries, k); -1 marks missing results."""
        k = min(k, len(self.doc_ids))
        tokens = self._bm25s.tokenize(queries, lower=True, stopwords=self.stopwords,
                                      show_progress=False)
        idx, scores = self.model.retrieve(tokens, k=k, show_progress=False, n_threads=0)
        idx = np.where(scores > 0, idx, -1)  # zero score = no term matched
        return idx, scores

    def score(self, query: str, doc_indices: list[int]) -> np.ndarray:
        """BM25 scores of one query against chosen documents (used by teachers)."""
        tokens = self._bm25s.tokenize([query], lower=True, stopwords=self.stopwords,
                                      show_progress=False, return_ids=False)[0]
        all_scores = self.model.get_scores(tokens) if tokens else np.zeros(len(self.doc_ids))
        return np.asarray(all_scores)[doc_indices]

    def run(self, qids: list[str], queries: list[str], k: int = default("depth")) -> TrecRun:
        idx, scores = self.search(queries, k)
        out: TrecRun = {}
        for qi, qid in enumerate(qids):
            out[qid] = {self.doc_ids[j]: float(s) for j, s in zip(idx[qi], scores[qi]) if j >= 0}
        return out
