"""The generate stage end to end with the templated test backend (loaded as module:Class)."""

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

from corpusfit.cli import main as cli_main
from corpusfit.data.artifacts import RejectedQuery, SyntheticQuery, load_artifact
from corpusfit.data.ingest import IngestConfig
from corpusfit.errors import ConfigError
from corpusfit.generate import GenerateConfig, backend_config
from corpusfit.stages.generate import run_generate
from corpusfit.stages.ingest import run_ingest

HERE = Path(__file__).resolve().parent
FAKE = "fake_backend:TemplatedBackend"
TYPES = ["question", "claim", "keywords", "title", "natural"]


def _config(**kw) -> GenerateConfig:
    return GenerateConfig(backend=backend_config(name=FAKE), **kw)


def _keys(out: Path) -> Counter:
    keys = Counter()
    for name in ("queries.jsonl", "rejected.jsonl"):
        for line in (out / name).read_text().splitlines():
            rec = json.loads(line)
            keys[(rec["source_id"], rec["type"])] += 1
    return keys


@pytest.fixture
def ingested(tiny_beir, tmp_path):
    run_ingest(IngestConfig(), tiny_beir, tmp_path / "ingest")
    return tmp_path / "ingest"


def test_one_record_per_passage_and_type(ingested, tmp_path):
    summary = run_generate(_config(), ingested, tmp_path / "gen", progress=False)
    out = tmp_path / "gen"
    queries = load_artifact(out / "queries.jsonl", SyntheticQuery)
    assert summary.total_accepted == len(queries) == 6 * 5
    assert _keys(out) == Counter({(f"d{i}", t): 1 for i in range(1, 7) for t in TYPES})
    q = next(q for q in queries if q.source_id == "d1" and q.type == "question")
    assert q.qid == "d1@question" and q.query.endswith("?")
    assert q.backend == "fake-templated" and q.model == "templated"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["accepted"] == 30
    # A rerun with a matching manifest does nothing.
    again = run_generate(_config(), ingested, out, progress=False)
    assert again.new_records == 0 and again.total_accepted == 30


def test_rejections_are_resampled_then_recorded(ingested, tmp_path, monkeypatch):
    import fake_backend

    calls = Counter()

    def bad_for_d2(request):
        calls[request.source_id, request.type] += 1
        if request.source_id == "d2":
            return "I cannot help with that."
        if request.source_id == "d3" and request.type == "question" and request.seed % 2 == 0:
            return "no question mark here at all"
        return original(request)

    original = fake_backend.templated_query
    monkeypatch.setattr(fake_backend, "templated_query", bad_for_d2)
    summary = run_generate(_config(attempts=3), ingested, tmp_path / "gen", progress=False)
    rejected = load_artifact(tmp_path / "gen" / "rejected.jsonl", RejectedQuery)
    assert {(r.source_id, r.reason) for r in rejected} == {("d2", "refusal")}
    assert len(rejected) == 5 and all(r.raw == "I cannot help with that." for r in rejected)
    assert all(calls["d2", t] == 3 for t in TYPES)
    assert summary.rejected["question"]["refusal"] == 1
    assert summary.retried["refusal"] == 10  # 5 types x 2 resamples before the final one
    assert _keys(tmp_path / "gen") == Counter({(f"d{i}", t): 1 for i in range(1, 7)
                                               for t in TYPES})


def test_duplicates_across_passages_are_rejected(ingested, tmp_path, monkeypatch):
    import fake_backend

    title = "Notes on wing, drag, heat, shock, library and computer topics"
    monkeypatch.setattr(fake_backend, "templated_query", lambda r: title)
    summary = run_generate(_config(types=["title"], attempts=2), ingested, tmp_path / "g",
                           progress=False)
    assert summary.accepted["title"] == 1
    assert summary.rejected["title"]["duplicate"] == 5


def test_user_defined_type_from_toml(ingested, tmp_path):
    type_file = tmp_path / "types.toml"
    type_file.write_text(
        '[[types]]\nname = "faq"\ninstruction = "Write an FAQ question."\nshape = "question"\n'
        'examples = [{passage = "Bees dance.", query = "Why do bees dance?"}]\n')
    summary = run_generate(_config(types=["faq", "title"], type_file=str(type_file)), ingested,
                           tmp_path / "g", progress=False)
    assert summary.accepted["faq"] == 0 and summary.rejected["faq"]["wrong_shape"] == 6
    assert summary.accepted["title"] == 6
    with pytest.raises(ConfigError, match="unknown query type 'nope'"):
        run_generate(_config(types=["nope"]), ingested, tmp_path / "h", progress=False)


def test_changed_settings_start_over_and_larger_sample_resumes(tiny_beir, tmp_path):
    run_ingest(IngestConfig(sample=3, seed=5), tiny_beir, tmp_path / "ing")
    out = tmp_path / "g"
    run_generate(_config(types=["title"]), tmp_path / "ing", out, progress=False)
    first = (out / "queries.jsonl").read_text()
    run_ingest(IngestConfig(sample=5, seed=5), tiny_beir, tmp_path / "ing")
    summary = run_generate(_config(types=["title"]), tmp_path / "ing", out, progress=False)
    assert summary.new_records == 2 and summary.total_accepted == 5
    assert (out / "queries.jsonl").read_text().startswith(first)
    summary = run_generate(_config(types=["title"], seed=99), tmp_path / "ing", out,
                           progress=False)
    assert summary.new_records == 5 and summary.total_accepted == 5


def _cli(out: Path, data: Path, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "corpusfit.cli", "generate", "--data", str(data), "--out",
           str(out), "--backend", FAKE, "--no-progress"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_sigkill_mid_run_then_rerun_has_no_duplicate_and_no_gap(cranfield, tmp_path):
    data = tmp_path / "corpus.jsonl"
    lines = (cranfield / "corpus.jsonl").read_text().splitlines()[:40]
    data.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get(
        "PYTHONPATH", "")]), "FAKE_BACKEND_DELAY": "0.01"}
    out = tmp_path / "gen"
    proc = _cli(out, data, env)
    queries = out / "queries.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not queries.exists() or queries.stat().st_size < 2000):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = sum(_keys(out).values())
    assert 0 < done_before < 200, "kill should land mid-run"
    assert not (out / "manifest.json").exists()
    env["FAKE_BACKEND_DELAY"] = "0"
    rerun = _cli(out, data, env)
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    keys = _keys(out)
    assert set(keys.values()) == {1}
    assert len(keys) == 40 * 5
    assert f"{200 - done_before} (passage, type) pairs done in this run" in stdout
    assert "queries/s" in stdout and "question" in stdout


def test_cli_prints_per_type_table(tiny_beir, tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    rc = cli_main(["generate", "--data", str(tiny_beir), "--out", str(tmp_path / "o"),
                   "--backend", FAKE, "--types", "question,keywords", "--limit", "4",
                   "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["question"][1:3] == ["4", "0"] and rows["keywords"][1:3] == ["4", "0"]
    assert rows["all"][1] == "8" and "queries/s" in out


def test_unknown_backend_is_a_config_error(ingested, tmp_path):
    from corpusfit.config import validate_config

    with pytest.raises(ConfigError, match="unknown backend 'nonsense'"):  # rejected by the type
        validate_config({"corpus": str(ingested), "generate": {"backend": {"name": "nonsense"}}})
    with pytest.raises(ConfigError, match="cannot import"):
        run_generate(GenerateConfig(backend=backend_config(name="no_such_mod:X")), ingested,
                     tmp_path / "g2", progress=False)


def test_records_of_older_versions_resume_and_still_count_as_duplicates(tiny_beir, tmp_path):
    """queries.jsonl of earlier versions named the query ``text``: such a folder resumes."""
    run_ingest(IngestConfig(sample=3, seed=5), tiny_beir, tmp_path / "ing")
    out = tmp_path / "g"
    run_generate(_config(types=["title"], attempts=1), tmp_path / "ing", out, progress=False)
    first = [json.loads(line) for line in (out / "queries.jsonl").read_text().splitlines()]
    assert len(first) == 3 and all("query" in r and "text" not in r for r in first)
    # The old format, and the third pair pending again; the first record now holds the
    # text the third pair will be given again, so it is a duplicate if (and only if) the
    # old records were read.
    a, b, c = first
    old = [{**{k: v for k, v in a.items() if k != "query"}, "text": c["query"]},
           {**{k: v for k, v in b.items() if k != "query"}, "text": b["query"]}]
    (out / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    (out / "manifest.json").unlink()
    summary = run_generate(_config(types=["title"], attempts=1), tmp_path / "ing", out,
                           progress=False)
    assert summary.new_records == 1 and summary.accepted["title"] == 2
    assert summary.rejected["title"]["duplicate"] == 1, summary.rejected
    assert [q.query for q in load_artifact(out / "queries.jsonl", SyntheticQuery)] == \
        [c["query"], b["query"]]
