"""The bundled SmolLM2 GGUF through llama-cpp: KV reuse is exact and relevance shows.

llama.cpp runs in a child process (tests/llama_children.py): a native crash fails the
test with the signal, likely cause and fix instead of ending the whole test run.
"""

from __future__ import annotations

import numpy as np
import pytest

from corpusfit.isolation import run_in_child

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow

PASSAGES = ["The lift of a thin wing in supersonic flow depends on the Mach number.",
            "Library catalogues index books by author, title and subject."]
QUERIES = ["how does mach number change wing lift", "how are library books indexed"]


@pytest.mark.parametrize("kind", ["query-likelihood", "llm-judge"])
def test_smollm2_kv_reuse_matches_scratch(kind):
    import llama_children

    pairs = [(q, p) for p in PASSAGES for q in QUERIES]
    reused, scratch = run_in_child(llama_children.smollm2_teacher_scores, kind, pairs,
                                   what=f"llama-cpp {kind} teacher (smollm2)", timeout=900)
    np.testing.assert_allclose(reused, scratch, atol=1e-4)
    if kind == "query-likelihood":   # each query is likelier under its own passage
        assert reused[0] > reused[2] and reused[3] > reused[1]
