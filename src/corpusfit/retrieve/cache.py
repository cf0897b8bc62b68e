"""On-disk embedding cache keyed by (model fingerprint, encoder settings, text hash).

Each ``encode`` call that misses appends one atomically written shard, so a
crash mid-corpus keeps every finished shard and a rerun encodes only the rest.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from corpusfit.workspace import atomic_path, text_sha1

logger = logging.getLogger(__name__)


class EmbeddingCache:
    """Embeddings for one namespace (one model + settings + text kind)."""

    def __init__(self, root: str | Path, namespace: str):
        self.dir = Path(root) / namespace
        self._index: dict[str, tuple[int, int]] | None = None
        self._shards: list[np.ndarray] = []

    def _load(self) -> None:
        self._index, self._shards = {}, []
        if not self.dir.exists():
            return
        for shard in sorted(self.dir.glob("shard-*.npz")):
            with np.load(shard, allow_pickle=False) as z:
                keys, emb = z["keys"], z["emb"]
            s = len(self._shards)
            self._shards.append(emb)
            for row, key in enumerate(keys.tolist()):
                self._index[key] = (s, row)

    @staticmethod
    def key(text: str) -> str:
        return text_sha1(text)

    def get(self, texts: list[str]) -> tuple[dict[int, np.ndarray], list[int]]:
        """Return (position -> cached vector, positions that missed)."""
        if self._index is None:
            self._load()
        hits, misses = {}, []
        for i, t in enumerate(texts):
            loc = self._index.get(self.key(t))
            if loc is None:
                misses.append(i)
            else:
                hits[i] = self._shards[loc[0]][loc[1]]
        return hits, misses

    def put(self, texts: list[str], emb: np.ndarray) -> None:
        if not texts:
            return
        if self._index is None:
            self._load()
        self.dir.mkdir(parents=True, exist_ok=True)
        keys = np.array([self.key(t) for t in texts])
        # Named by content, not by a count of the shards there: two processes sharing a
        # cache (mine shards, parallel benchmark jobs) must never replace each other's file.
        path = self.dir / f"shard-{text_sha1(' '.join(keys.tolist()))[:16]}.npz"
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, keys=keys, emb=emb.astype(np.float32))
        s = len(self._shards)
        self._shards.append(emb)
        for row, key in enumerate(keys.tolist()):
            self._index[key] = (s, row)
