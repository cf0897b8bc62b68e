"""Exact inner-product search with faiss (cosine when embeddings are normalized)."""

from __future__ import annotations

import numpy as np

from corpusfit.retrieve.settings import default
from corpusfit.retrieve.trec import TrecRun


class DenseIndex:
    """An exact ``IndexFlatIP`` over document embeddings."""

    def __init__(self, doc_ids: list[str], embeddings: np.ndarray):
        import faiss

        self.doc_ids = list(doc_ids)
        self.index = faiss.IndexFlatIP(embeddings.shape[1])
        self.index.add(np.ascontiguousarray(embeddings, dtype=np.float32))

    def search(self, query_emb: np.ndarray, k: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """Return (doc indices, scores), each (n_queries, k)."""
        k = min(k, len(self.doc_ids))
        scores, idx = self.index.search(np.ascontiguousarray(query_emb, dtype=np.float32), k)
        return idx, scores

    def run(self, qids: list[str], query_emb: np.ndarray, k: int = default("depth")) -> TrecRun:
        idx, scores = self.search(query_emb, k)
        return {qid: {self.doc_ids[j]: float(s) for j, s in zip(idx[i], scores[i]) if j >= 0}
                for i, qid in enumerate(qids)}
