"""Nothing an LLM wrote is asked again: upgrades, changed settings (and back), a changed
instruction, added and removed passages and ``kill -9`` cost exactly the new requests.

Every test counts the requests a local OpenAI-compatible server receives
(counting_server.py); the completion store lives in the test's tmp folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import corpusfit
from corpusfit.data.ingest import IngestConfig
from corpusfit.generate import GenerateConfig, backend_config
from corpusfit.generate import types as qtypes
from corpusfit.generate.runner import generate_queries
from corpusfit.stages.generate import run_generate
from corpusfit.stages.ingest import run_ingest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import counting_server  # noqa: E402

TYPES = ["question", "keywords", "title"]
WORDS = "wing lift drag shock mach plate heat layer flow nozzle jet cone".split()


def write_corpus(folder: Path, ids: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "corpus.jsonl"
    path.write_text("".join(json.dumps({"_id": i, "title": "", "text": f"{i} " + " ".join(
        WORDS[(int(i[1:]) + k) % len(WORDS)] for k in range(6)) + " results"}) + "\n"
        for i in ids))
    return path


def config(srv, **kw) -> GenerateConfig:
    kw.setdefault("types", TYPES)
    return GenerateConfig(attempts=1, batch_size=2, backend=backend_config(
        name="openai", model="counted", base_url=srv.url, concurrency=2, max_retries=0), **kw)


def records(gen: Path) -> list[dict]:
    return sorted((json.loads(x) for x in (gen / "queries.jsonl").open()),
                  key=lambda r: r["qid"])


def ids(n: int, start: int = 0) -> list[str]:
    return [f"p{i:02d}" for i in range(start, start + n)]


@pytest.fixture
def run(tmp_path, server):
    """ingest + generate of ``corpus ids`` into tmp/run; returns the requests it sent."""
    def go(doc_ids: list[str], cfg: GenerateConfig | None = None, out: str = "run") -> int:
        server.reset()
        corpus = write_corpus(tmp_path / "data", doc_ids)
        run_ingest(IngestConfig(), corpus, tmp_path / out / "ingest")
        run_generate(cfg or config(server), tmp_path / out / "ingest", tmp_path / out / "gen",
                     progress=False)
        return server.posts
    return go


def test_an_upgrade_or_another_run_directory_asks_nothing(run, tmp_path, monkeypatch):
    assert run(ids(6)) == 6 * 3
    before = records(tmp_path / "run/gen")
    monkeypatch.setattr(corpusfit, "__version__", "99.0.0")
    assert run(ids(6)) == 0  # the new version reruns the stage: the store answers it all
    assert records(tmp_path / "run/gen") == before
    assert run(ids(6), out="elsewhere") == 0  # the store is shared by run directories
    assert records(tmp_path / "elsewhere/gen") == before


def test_a_changed_setting_keeps_the_work_and_changing_it_back_is_free(run, server, tmp_path):
    gen = tmp_path / "run/gen"
    assert run(ids(6)) == 18
    first = records(gen)
    hotter = config(server, sampling={"temperature": 0.5})
    assert run(ids(6), hotter) == 18  # new sampling: every request is new work
    assert records(gen) != first
    assert (gen / "superseded").is_dir()  # the earlier records were kept, not deleted
    assert run(ids(6)) == 0  # and back: nothing asked again
    assert records(gen) == first
    assert run(ids(6), hotter, out="other") == 0  # another folder: the store answers
    counts = json.loads((tmp_path / "other/gen/manifest.json").read_text())["counts"]
    assert counts["stored"] == 18 and counts["asked"] == 0


def test_one_more_type_asks_only_for_it_per_passage(run, server):
    assert run(ids(5), config(server, prompt="per-passage")) == 15
    assert run(ids(5), config(server, prompt="per-passage", types=[*TYPES, "claim"])) == 5
    assert set(server.chats) == {(i, "claim") for i in ids(5)}


def test_a_changed_instruction_regenerates_exactly_its_requests(tmp_path, server,
                                                                monkeypatch):
    corpus = write_corpus(tmp_path / "data", ids(6))
    run_ingest(IngestConfig(), corpus, tmp_path / "ingest")
    cfg = config(server, prompt="per-passage")
    generate_queries(cfg, tmp_path / "ingest", tmp_path / "gen", progress=False)
    assert server.posts == 18
    server.reset()
    old = qtypes._INSTRUCTIONS["title"]
    monkeypatch.setitem(qtypes._INSTRUCTIONS, "title",
                        ("Write a short title naming the topic. Reply with the title only.",
                         *old[1:]))
    generate_queries(cfg, tmp_path / "ingest", tmp_path / "gen", progress=False)
    assert server.chats == Counter({(i, "title"): 1 for i in ids(6)})
    titles = [r for r in records(tmp_path / "gen") if r["type"] == "title"]
    assert len(titles) == 6


def test_shared_prefix_prompts_change_all_together(tmp_path, server, monkeypatch):
    """The default layout shows every type's instruction in each prompt's few-shot block:
    changing one instruction changes every prompt, and the store asks for all of them."""
    corpus = write_corpus(tmp_path / "data", ids(3))
    run_ingest(IngestConfig(), corpus, tmp_path / "ingest")
    generate_queries(config(server), tmp_path / "ingest", tmp_path / "gen", progress=False)
    server.reset()
    old = qtypes._INSTRUCTIONS["question"]
    monkeypatch.setitem(qtypes._INSTRUCTIONS, "question", ("Ask one question. " + old[0],
                                                           *old[1:]))
    generate_queries(config(server), tmp_path / "ingest", tmp_path / "gen", progress=False)
    assert server.posts == 9


def test_added_and_removed_passages_cost_only_the_new_ones(run, server, tmp_path):
    gen = tmp_path / "run/gen"
    assert run(ids(8)) == 24
    kept = {r["qid"]: r for r in records(gen)}
    assert run(ids(10)) == 2 * 3  # two passages added (default shared-prefix prompts)
    assert set(server.chats) == {(i, t) for i in ids(2, 8) for t in TYPES}
    now = {r["qid"]: r for r in records(gen)}
    assert all(now[q] == r for q, r in kept.items())  # old queries unchanged
    assert run(ids(9, 1)) == 0  # p00 removed
    assert {r["source_id"] for r in records(gen)} == set(ids(9, 1))
    assert run(ids(10)) == 0  # and back


def _cli_args(tmp_path: Path, srv, n: int, temperature: float = 0.8) -> list[str]:
    corpus = write_corpus(tmp_path / "data", ids(n))
    cfg = tmp_path / f"gen-{temperature}.json"
    cfg.write_text(json.dumps({"types": ["question"], "attempts": 1, "batch_size": 1,
                               "sampling": {"temperature": temperature},
                               "backend": {"name": "openai", "model": "counted",
                                           "base_url": srv.url, "concurrency": 1,
                                           "max_retries": 0}}))
    return ["generate", "--data", str(corpus), "--out", str(tmp_path / "gen"), "--config",
            str(cfg), "--no-progress"]


def _kill_after(args: list[str], srv, answers: int) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-m", "corpusfit.cli", *args], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while srv.posts < answers and child.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    assert child.poll() is None, "the run ended before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()


@pytest.mark.slow
@pytest.mark.parametrize("changed", [False, True], ids=["first-run", "changed-setting"])
def test_kill_9_mid_run_loses_no_answer(tmp_path, changed):
    """Killed mid-run (a first run, or the run after a changed setting): the rerun asks
    only what no earlier run got an answer for, and changing back asks nothing."""
    from corpusfit.cli import main

    srv = counting_server.start(delay=0.05)
    try:
        first = _cli_args(tmp_path, srv, 16)
        args = _cli_args(tmp_path, srv, 16, temperature=0.3) if changed else first
        if changed:
            assert main(first) == 0 and srv.posts == 16
            srv.reset()
        _kill_after(args, srv, 6)
        killed_at = srv.posts
        assert 6 <= killed_at < 16
        assert main(args) == 0
        # at most the one request in flight when the process died is asked twice
        assert srv.posts <= 16 + 1
        assert sum(n > 1 for n in srv.chats.values()) <= 1
        lines = (tmp_path / "gen/queries.jsonl").read_text().splitlines()
        assert sorted(json.loads(x)["source_id"] for x in lines) == ids(16)
        if changed:
            srv.reset()
            assert main(first) == 0 and srv.posts == 0
    finally:
        srv.shutdown()
        srv.server_close()
