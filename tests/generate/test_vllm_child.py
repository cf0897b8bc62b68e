"""The vLLM backend runs in a child process whose exit frees the GPU (a fake vllm here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corpusfit.errors import CorpusfitError
from corpusfit.generate.backends.base import Backend, Request, create_backend
from corpusfit.generate.config import SamplingConfig, backend_config
from corpusfit.generate.runner import batch_size

FAKE = Path(__file__).resolve().parent / "fake_vllm"


@pytest.fixture
def fake_vllm(monkeypatch, tmp_path):
    """The fake vllm on sys.path (the spawned child inherits it) and two model folders."""
    monkeypatch.syspath_prepend(str(FAKE))
    for name in ("fake", "crash"):
        (tmp_path / "models" / name).mkdir(parents=True)
    return tmp_path / "models"


def _req(i: int) -> Request:
    return Request(f"d{i}", "question", [{"role": "user", "content": f"Passage: w{i} x y"}],
                   seed=i)


def test_vllm_generates_in_a_child_that_exits_on_close(fake_vllm):
    model = str(fake_vllm / "fake")
    backend = create_backend(backend_config(name="vllm", model=model))
    assert isinstance(backend, Backend) and backend.name == "vllm"
    assert backend.model_name == model and backend.batch_size is None
    out = backend.generate([_req(1), _req(2)], SamplingConfig(max_new_tokens=7))
    pids = {c.text.split()[0] for c in out}
    assert pids == {str(backend.pid)} and backend.pid != os.getpid()
    assert [c.text.split()[1:4] for c in out] == [["1", "7", "w1"], ["2", "7", "w2"]]
    backend.close()
    assert not backend._proc.is_alive() and backend._proc.exitcode == 0
    backend.close()  # idempotent


def test_vllm_crash_is_an_error_not_a_hang(fake_vllm):
    backend = create_backend(backend_config(name="vllm", model=str(fake_vllm / "crash")))
    with pytest.raises(CorpusfitError, match="SIGSEGV"):
        backend.generate([_req(1)], SamplingConfig())
    backend.close()


def test_batch_size_is_the_backends(fake_vllm):
    from corpusfit.generate.config import GenerateConfig

    class Servers:
        batch_size = 6

    class Legacy:
        pass

    class All:
        batch_size = None

    cfg = GenerateConfig()
    assert batch_size(cfg, Servers(), 100) == 6
    assert batch_size(cfg, Legacy(), 100) == 10
    assert batch_size(cfg, All(), 100) == 100
    assert batch_size(GenerateConfig(batch_size=3), All(), 100) == 3


def test_the_stage_sends_vllm_every_pending_pair_at_once(fake_vllm, tiny_beir, tmp_path,
                                                         monkeypatch):
    from corpusfit.data.ingest import IngestConfig
    from corpusfit.generate import GenerateConfig
    from corpusfit.stages.generate import run_generate
    from corpusfit.stages.ingest import run_ingest

    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("FAKE_VLLM_CALLS", str(calls))
    run_ingest(IngestConfig(), tiny_beir, tmp_path / "ingest")
    config = GenerateConfig(types=["natural", "keywords"], attempts=1,
                            backend=backend_config(name="vllm", model=str(fake_vllm / "fake")))
    summary = run_generate(config, tmp_path / "ingest", tmp_path / "gen", progress=False)
    assert calls.read_text().split() == ["12"]  # 6 passages x 2 types in one call
    assert summary.total_accepted + summary.total_rejected == 12
