"""`corpusfit run` with the real stages on a tiny corpus: a templated generator (a test
backend plugged in as module:Class, see pipeline_fake_backend.py), tiny random students, the BM25
teacher. Slow-marked: the whole pipeline runs several times (~40 s)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny_run import tiny_run_yaml

from corpusfit.cli import main as cli_main


@pytest.fixture
def config_file(tmp_path, tiny_beir, tiny_bert):
    text = tiny_run_yaml(tiny_beir, tiny_bert, extra="""\
variants:
  infonce: {objective: {infonce: 1.0}}
evaluate:
  depth: 100
""")
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    return path


def _run(args, capsys) -> tuple[int, str]:
    code = cli_main(["-q", "run", *args])
    return code, capsys.readouterr().out


def _status(out: str) -> dict[str, str]:
    rows = [line.split() for line in out.splitlines() if line[:2].isdigit()]
    return {r[0]: r[1] for r in rows}


@pytest.mark.slow
def test_run_resume_force_until(tmp_path, config_file, capsys):
    run = tmp_path / "run"
    code, out = _run([str(config_file), "--run-dir", str(run)], capsys)
    assert code == 0, out
    assert set(_status(out).values()) == {"ran"}
    assert list(_status(out)) == ["01-ingest", "02-generate", "02-generate-probe", "03-mine",
                                  "04-label", "05-train", "05-train-infonce", "06-evaluate",
                                  "06-evaluate-labelfree",
                                  "07-report"]
    for model in ("base", "specialized", "infonce", "bm25", "hybrid"):
        assert any(line.startswith(model + " ") for line in out.splitlines()), out
    queries = (run / "02-generate" / "queries.jsonl").read_text().splitlines()
    assert len(queries) == 18  # 6 passages x 3 types, all accepted
    assert (run / "07-report" / "report.html").stat().st_size > 10_000
    assert "corpus:" in (run / "config.yaml").read_text()
    model = run / "05-train" / "model"  # the model and its card; the records beside it
    assert (model / "README.md").exists() and (model / "modules.json").exists()
    assert not (model / "manifest.json").exists() and (run / "05-train" / "manifest.json").exists()
    metrics = json.loads((run / "06-evaluate" / "metrics.json").read_text())
    assert set(metrics["retrievers"]) >= {"base", "specialized", "infonce", "bm25", "hybrid"}

    code, out = _run([str(config_file), "--run-dir", str(run)], capsys)
    assert code == 0 and set(_status(out).values()) == {"skipped"}

    code, out = _run([str(config_file), "--run-dir", str(run), "--set", "train.epochs=2"],
                     capsys)
    st = _status(out)
    assert [k for k, v in st.items() if v == "ran"] == ["05-train", "05-train-infonce",
                                                        "06-evaluate", "06-evaluate-labelfree",
                                                        "07-report"]
    # the resolved config in the run dir is the one that ran
    assert "epochs: 2" in (run / "config.yaml").read_text()

    code, out = _run([str(config_file), "--run-dir", str(run), "--force", "mine", "--until",
                      "label", "--set", "train.epochs=2"], capsys)
    assert _status(out) == {"01-ingest": "skipped", "02-generate": "skipped",
                            "02-generate-probe": "skipped", "03-mine": "ran", "04-label": "ran"}


def _count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.slow
def test_kill_9_during_generation_then_rerun_completes_without_duplicates(tmp_path,
                                                                          config_file):
    """A real subprocess killed with SIGKILL mid-generation; the rerun finishes the job."""
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "corpusfit.cli", "-q", "run", str(config_file),
           "--run-dir", str(run), "--set", "generate.backend.options.delay=0.3",
           "--set", "generate.batch_size=2", "--until", "mine"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    queries = run / "02-generate" / "queries.jsonl"
    deadline = time.time() + 120
    while _count(queries) < 4 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _count(queries)
    assert 4 <= killed_at < 18
    assert not (run / "02-generate" / "manifest.json").exists()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(x) for x in queries.read_text().splitlines()]
    keys = [(r["source_id"], r["type"]) for r in records]
    assert len(keys) == len(set(keys)) == 18  # every (passage, type) exactly once
    assert _status(done.stdout) == {"01-ingest": "skipped", "02-generate": "ran",
                                    "02-generate-probe": "ran", "03-mine": "ran"}
    assert (run / "03-mine" / "candidates.jsonl").exists()
