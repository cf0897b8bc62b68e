"""First-stage scorers as teachers: BM25 and dense cosine (ensemble members)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from corpusfit.teach.base import Pair, Teacher
from corpusfit.teach.config import TeacherConfig

logger = logging.getLogger(__name__)


class BM25Teacher(Teacher):
    """BM25 with the corpus's term statistics (bm25s, as the first stage uses)."""

    def __init__(self, config: TeacherConfig, corpus: Mapping[str, str] | None = None):
        super().__init__(config)
        self._index = None
        self._row: dict[str, int] = {}
        if corpus:
            from corpusfit.retrieve.bm25 import BM25Index

            ids = list(corpus)
            self._index = BM25Index(ids, [corpus[d] for d in ids], **self.config.terms())
            # Passages arrive as text; identical texts get identical BM25 scores anyway.
            self._row = {corpus[d]: i for i, d in enumerate(ids)}

    def _local(self, query: str, passages: list[str]) -> list[float]:
        """BM25 with statistics of the given passages only (texts outside the corpus)."""
        from corpusfit.retrieve.bm25 import BM25Index

        index = BM25Index([str(i) for i in range(len(passages))], passages, **self.config.terms())
        return [float(s) for s in index.score(query, list(range(len(passages))))]

    def score_lists(self, lists: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        out = []
        for query, passages in lists:
            rows = [self._row.get(p) for p in passages]
            if self._index is None or any(r is None for r in rows):
                out.append(self._local(query, passages))
            else:
                out.append([float(s) for s in self._index.score(query, rows)])
        return out

    def score_pairs(self, pairs: Sequence[Pair]) -> list[float]:
        return [s for q, p in pairs for s in self.score_lists([(q, [p])])[0]]


class DenseTeacher(Teacher):
    """Cosine similarity under a dense encoder (e.g. MiniLM)."""

    def __init__(self, config: TeacherConfig, corpus: Mapping[str, str] | None = None):
        super().__init__(config)
        from corpusfit.retrieve.encoder import DenseEncoder

        self.encoder = DenseEncoder.load(config.model, device=config.device,
                                         precision=config.precision)
        self._memo: dict[tuple[str, str], np.ndarray] = {}

    def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if (kind, t) not in self._memo))
        if todo:
            emb = self.encoder.encode(todo, kind, show_progress=False,
                                      cache_dir=self.config.embedding_cache)
            if not self.encoder.normalizes(kind):
                emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            for t, e in zip(todo, emb):
                self._memo[(kind, t)] = e
        return np.stack([self._memo[(kind, t)] for t in texts])

    def score_pairs(self, pairs: Sequence[Pair]) -> list[float]:
        if not pairs:
            return []
        q = self._embed([p[0] for p in pairs], "query")
        d = self._embed([p[1] for p in pairs], "passage")
        return [float(x) for x in (q * d).sum(axis=1)]
