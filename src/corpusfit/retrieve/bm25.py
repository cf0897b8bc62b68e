"""BM25 over a corpus with bm25s: lower-cased words, the language's stop words and, when
asked, its Snowball stemmer (PyStemmer).

``language`` is a Snowball language (``english``, ``german``, ``french``...; stop words
where bm25s has a list for it), ``chinese`` or ``japanese`` (each Han or kana character
is a term; other words as usual) or ``none`` (no stop words, no stemming).
"""

from __future__ import annotations

import logging

import numpy as np

from corpusfit.retrieve.settings import default
from corpusfit.retrieve.trec import TrecRun

logger = logging.getLogger(__name__)


_WORDS = r"(?u)\b\w\w+\b"
_CHARACTERS = r"(?u)[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|\b\w\w+\b"
_STOPWORDS = {"english": "en", "german": "de", "dutch": "nl", "french": "fr", "spanish": "es",
              "portuguese": "pt", "italian": "it", "russian": "ru", "swedish": "sv",
              "norwegian": "no", "danish": "da", "turkish": "tr", "chinese": "zh"}
UNSTEMMED = ("none", "chinese", "japanese")


class BM25Index:
    """A bm25s index over document texts, with ids kept alongside."""

    def __init__(self, doc_ids: list[str], texts: list[str], k1: float = 1.5, b: float = 0.75,
                 language: str = default("bm25_language"), stem: bool = default("bm25_stem")):
        import bm25s

        # bm25s sets its own logger to DEBUG on import; keep its chatter out of our logs.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.doc_ids = list(doc_ids)
        self.stopwords = _STOPWORDS.get(language)
        self.pattern = _CHARACTERS if language in ("chinese", "japanese") else _WORDS
        self.stemmer = None
        if stem and language not in UNSTEMMED:
            import Stemmer

            self.stemmer = Stemmer.Stemmer(language).stemWords
        self._bm25s = bm25s
        self.model = bm25s.BM25(k1=k1, b=b)
        self.model.index(self._tokenize(texts), show_progress=False)

    def _tokenize(self, texts: list[str], return_ids: bool = True):
        return self._bm25s.tokenize(texts, lower=True, token_pattern=self.pattern,
                                    stopwords=self.stopwords, stemmer=self.stemmer,
                                    show_progress=False, return_ids=return_ids)

    def search(self, queries: list[str], k: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """Return (doc indices, scores), each (n_queries, k); -1 marks missing results."""
        k = min(k, len(self.doc_ids))
        idx, scores = self.model.retrieve(self._tokenize(queries), k=k, show_progress=False,
                                          n_threads=0)
        idx = np.where(scores > 0, idx, -1)  # zero score = no term matched
        return idx, scores

    def score(self, query: str, doc_indices: list[int]) -> np.ndarray:
        """BM25 scores of one query against chosen documents (used by teachers)."""
        tokens = self._tokenize([query], return_ids=False)[0]
        all_scores = self.model.get_scores(tokens) if tokens else np.zeros(len(self.doc_ids))
        return np.asarray(all_scores)[doc_indices]

    def run(self, qids: list[str], queries: list[str], k: int = default("depth")) -> TrecRun:
        idx, scores = self.search(queries, k)
        out: TrecRun = {}
        for qi, qid in enumerate(qids):
            out[qid] = {self.doc_ids[j]: float(s) for j, s in zip(idx[qi], scores[qi]) if j >= 0}
        return out
