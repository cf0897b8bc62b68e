"""`corpusfit run` under torchrun with 2 gloo processes: rank 0 runs the stages, both train."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # two Python processes through the whole tiny pipeline: ~60 s on 2 cores
def test_run_under_torchrun_with_two_processes(tmp_path, tiny_beir, tiny_bert):
    config = tmp_path / "tiny.yaml"
    config.write_text(f"""
corpus: {tiny_beir}
run_dir: {tmp_path / 'run'}
generate:
  types: [question, keywords, title]
  backend: {{name: "pipeline_fake_backend:TemplateBackend", options: {{delay: 0.0}}}}
mine: {{retrievers: [{tiny_bert}, bm25], depth: 6, fused_depth: 6, round_trip_depth: 6}}
label:
  teacher: {{kind: bm25}}
  score_depth: 6
  list_size: 4
  require_source_first: false
  min_top_percentile: null
  dev_fraction: 0.34
train: {{student: {tiny_bert}, epochs: 1, queries_per_step: 4, dropout: false,
         device: cpu, precision: fp32}}
evaluate: {{depth: 100}}
""")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           "-m", "corpusfit.cli", "-q", "run", str(config)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "run"
    records = [json.loads(x) for x in
               (run / "02-generate" / "queries.jsonl").read_text().splitlines()]
    keys = [(r["source_id"], r["type"]) for r in records]
    assert len(keys) == len(set(keys)) == 18  # generated once, by rank 0 alone
    log = [json.loads(x) for x in (run / "05-train" / "train_log.jsonl").read_text().splitlines()]
    assert any("loss" in r for r in log)
    manifest = json.loads((run / "05-train" / "manifest.json").read_text())
    assert manifest["counts"]["result"]
    assert (run / "06-evaluate" / "metrics.json").exists()
    assert (run / "07-report" / "report.md").exists()
    assert proc.stdout.count("Test queries") <= 1  # the table is printed by rank 0 only
