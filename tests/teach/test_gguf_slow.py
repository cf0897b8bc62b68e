"""The bundled SmolLM2 GGUF through llama-cpp: KV reuse is exact and relevance shows."""

from __future__ import annotations

import numpy as np
import pytest

from corpusfit.teach.base import build_teacher
from corpusfit.teach.config import TeacherConfig

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow

PASSAGES = ["The lift of a thin wing in supersonic flow depends on the Mach number.",
            "Library catalogues index books by author, title and subject."]
QUERIES = ["how does mach number change wing lift", "how are library books indexed"]


@pytest.mark.parametrize("kind", ["query-likelihood", "llm-judge"])
def test_smollm2_kv_reuse_matches_scratch(kind):
    pairs = [(q, p) for p in PASSAGES for q in QUERIES]
    cfg = dict(kind=kind, model="smollm2", n_threads=1)
    reused = build_teacher(TeacherConfig(**cfg)).score_pairs(pairs)
    scratch = build_teacher(TeacherConfig(**cfg, kv_reuse=False)).score_pairs(pairs)
    np.testing.assert_allclose(reused, scratch, atol=1e-4)
    if kind == "query-likelihood":   # each query is likelier under its own passage
        assert reused[0] > reused[2] and reused[3] > reused[1]
