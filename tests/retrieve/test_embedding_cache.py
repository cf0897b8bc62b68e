"""The embedding cache: hits come back as stored, and writers never replace each other."""

from __future__ import annotations

import numpy as np

from corpusfit.retrieve.cache import EmbeddingCache


def test_two_writers_of_one_namespace_keep_both_shards(tmp_path, monkeypatch):
    # Two processes (here: two cache objects that loaded the same empty folder) each add
    # vectors; a shard named by a count of existing files would let the second replace
    # the first.
    first, second = EmbeddingCache(tmp_path, "ns"), EmbeddingCache(tmp_path, "ns")
    first.get(["a"]), second.get(["b"])
    first.put(["a"], np.ones((1, 3), dtype=np.float32))
    # The second writer looks at the folder as it was before the first one wrote.
    monkeypatch.setattr(type(tmp_path), "glob", lambda self, pattern: iter([]))
    second.put(["b"], np.full((1, 3), 2.0, dtype=np.float32))
    monkeypatch.undo()
    hits, misses = EmbeddingCache(tmp_path, "ns").get(["a", "b", "c"])
    assert misses == [2]
    assert hits[0].tolist() == [1.0, 1.0, 1.0] and hits[1].tolist() == [2.0, 2.0, 2.0]
