"""One writer per run directory: a second `corpusfit run` exits 2 at once naming the first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpusfit.lock import LOCK, RunDirLocked, run_dir_lock

TESTS = Path(__file__).parent


def _corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    words = ["wing lift", "drag force", "heat flow", "shock wave"]
    path.write_text("".join(json.dumps({"_id": f"d{i}", "text": f"{w} passage number {i}"})
                            + "\n" for i, w in enumerate(words)))
    return path


def _cli(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "corpusfit.cli", "-q", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _env(go: Path) -> dict:
    path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "LOCK_TEST_GO": str(go)}


def _wait_for_holder(lock: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120  # a hang guard, not a measured threshold
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(lock.read_text() or "{}").get("pid") == proc.pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"first writer never took the lock: {proc.communicate()}")


@pytest.fixture
def held_run(tmp_path):
    """A `corpusfit run` paused inside generate, holding the run directory's lock."""
    config = tmp_path / "c.yaml"
    run_dir, go = tmp_path / "run", tmp_path / "go"
    config.write_text(f"corpus: {_corpus(tmp_path)}\nrun_dir: {run_dir}\n"
                      "generate: {types: [question], backend: {name: "
                      "'lock_children:WaitingBackend'}}\n")
    env = _env(go)
    first = _cli(["run", str(config), "--until", "generate"], env)
    try:
        _wait_for_holder(run_dir / LOCK, first)
        yield config, run_dir, go, env, first
    finally:
        go.touch()
        if first.poll() is None:
            first.wait(timeout=300)


def test_second_run_exits_2_naming_the_holder_and_the_first_completes(held_run):
    config, run_dir, go, env, first = held_run
    second = _cli(["run", str(config), "--until", "generate"], env)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 2, err
    assert f"pid {first.pid}" in err and "in use by another corpusfit process" in err
    # A stage command writing into a stage folder of the locked run is refused too.
    stage = _cli(["generate", "--ingest", str(run_dir / "01-ingest"), "--out",
                  str(run_dir / "02-generate"), "--types", "question",
                  "--backend", "lock_children:WaitingBackend"], env)
    _, err = stage.communicate(timeout=300)
    assert stage.returncode == 2 and f"pid {first.pid}" in err
    go.touch()
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    records = [json.loads(x) for x in (run_dir / "02-generate/queries.jsonl").open()]
    keys = [(r["source_id"], r["type"]) for r in records]
    assert len(keys) == 4 and len(set(keys)) == 4  # every pair once, none twice


def test_lock_of_a_killed_process_does_not_block(tmp_path):
    go = tmp_path / "never"
    folder = tmp_path / "gen"
    proc = _cli(["generate", "--data", str(_corpus(tmp_path)), "--out", str(folder),
                 "--types", "question", "--backend", "lock_children:WaitingBackend"],
                _env(go))
    _wait_for_holder(folder / LOCK, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert json.loads((folder / LOCK).read_text())["pid"] == proc.pid  # left behind
    with run_dir_lock(folder, "test"):
        assert json.loads((folder / LOCK).read_text())["pid"] == os.getpid()


def test_second_holder_in_one_process_is_refused_then_released(tmp_path):
    with run_dir_lock(tmp_path / "r", "first"):
        with pytest.raises(RunDirLocked, match=f"pid {os.getpid()}: first"):
            with run_dir_lock(tmp_path / "r", "second"):
                pass
    with run_dir_lock(tmp_path / "r", "third"):
        pass


def test_torchrun_workers_share_rank_zeros_lock(tmp_path, monkeypatch):
    from corpusfit.lock import output_locks

    with run_dir_lock(tmp_path / "out", "rank 0"):
        monkeypatch.setenv("RANK", "1")
        with output_locks(tmp_path / "out"):  # a worker of the same command: no second lock
            pass
        monkeypatch.setenv("RANK", "0")
        with pytest.raises(RunDirLocked):
            with output_locks(tmp_path / "out"):
                pass
