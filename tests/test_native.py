"""The llama.cpp CPU-variant choice: the best this CPU runs, never the AMX one by default."""

from __future__ import annotations

import pytest

from corpusfit.errors import CorpusfitError
from corpusfit.native import choose_variant, variant_files

# Scores as ggml computes them on an AMX machine (sapphirerapids adds the AMX bit).
AMX_CPU = {"x64": 1, "haswell": 63, "skylakex": 191, "icelake": 1471, "zen4": 1983,
           "sapphirerapids": 4031, "alderlake": 0}


def test_best_variant_skips_amx_and_says_so():
    name, why = choose_variant(AMX_CPU, None)
    assert name == "zen4"
    assert "skipped sapphirerapids" in why


def test_without_amx_the_best_score_wins_quietly():
    scores = {**AMX_CPU, "sapphirerapids": 0}
    assert choose_variant(scores, None) == ("zen4", "best score on this CPU")


def test_avx2_only_cpu_gets_haswell():
    scores = {"x64": 1, "sse42": 5, "haswell": 63, "skylakex": 0, "zen4": 0}
    assert choose_variant(scores, None)[0] == "haswell"


def test_forced_variant_is_checked():
    assert choose_variant(AMX_CPU, "haswell")[0] == "haswell"
    assert choose_variant(AMX_CPU, "sapphirerapids")[0] == "sapphirerapids"  # user's choice
    with pytest.raises(CorpusfitError, match="lacks an instruction"):
        choose_variant(AMX_CPU, "alderlake")
    with pytest.raises(CorpusfitError, match="no such"):
        choose_variant(AMX_CPU, "pentium")


def test_no_runnable_variant():
    assert choose_variant({"zen4": 0}, None)[0] is None


def test_variant_files_reads_only_cpu_kernel_libraries(tmp_path):
    for name in ("libggml-cpu-haswell.so", "libggml-cpu-zen4.so", "libggml-base.so",
                 "libggml-cpu-zen4.so.0", "libllama.so"):
        (tmp_path / name).write_bytes(b"")
    assert sorted(variant_files(tmp_path)) == ["haswell", "zen4"]


def test_accelerator_modules_are_found_beside_the_cpu_variants(tmp_path):
    from corpusfit.native import accelerator_files

    for name in ("libggml-cpu-haswell.so", "libggml-base.so", "libggml-cuda.so",
                 "libggml.so", "libllama.so"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in accelerator_files(tmp_path)] == ["libggml-cuda.so"]
