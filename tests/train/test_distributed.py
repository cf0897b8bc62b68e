"""Two gloo processes under torchrun give the single-process losses on the same batches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from corpusfit.workspace import iter_jsonl_tolerant


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(procs: int, out, tiny_bert, tiny_lists, mode: str) -> list[dict]:
    lists, corpus = tiny_lists
    args = ["-m", "corpusfit.cli", "-q", "train", "--lists", str(lists), "--corpus",
            str(corpus), "--student", str(tiny_bert), "--out", str(out), "--mode", mode,
            "--queries-per-step", "6", "--epochs", "2", "--lr", "1e-3",
            "--set", "dropout=false", "--set", "max_minutes=null", "--set", "chunk_size=2",
            # fp32: the check is 1e-5 equality of the maths; bf16 (auto on a CPU with bf16
            # dot products) rounds the two splits of a batch differently
            "--set", "precision=fp32",
            "--device", "cpu"]
    if procs > 1:
        args = ["-m", "torch.distributed.run", "--nproc_per_node", str(procs),
                "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return list(iter_jsonl_tolerant(out / "train_log.jsonl"))


@pytest.mark.slow  # three Python processes per run: ~30 s on a shared 2-core CPU
@pytest.mark.parametrize("mode", ["full", "query_only"])
def test_two_processes_match_one(tiny_bert, tiny_lists, tmp_path, mode):
    one = _train(1, tmp_path / "one", tiny_bert, tiny_lists, mode)
    two = _train(2, tmp_path / "two", tiny_bert, tiny_lists, mode)
    assert len(one) == len(two) == 7  # base dev record + 2 epochs x (2 steps + 1 dev record)
    for a, b in zip(one, two, strict=True):
        assert a.get("queries") == b.get("queries")
        for key in ("loss", "listwise", "infonce", "dev_loss"):
            if key in a:
                # Step 1 checks the gathered loss; later steps also the all-reduced gradients.
                assert b[key] == pytest.approx(a[key], abs=1e-5), (a, b)
