"""Generate's resume reads its own append-only files back: a malformed record there is a
DataError naming file and line (not a KeyError), and only a torn last line is forgiven."""

from __future__ import annotations

import json

import pytest

from corpusfit.data.ingest import IngestConfig
from corpusfit.errors import DataError
from corpusfit.generate import GenerateConfig, backend_config
from corpusfit.stages.generate import run_generate
from corpusfit.stages.ingest import run_ingest

FAKE = "fake_backend:TemplatedBackend"


@pytest.fixture
def generated(tiny_beir, tmp_path):
    run_ingest(IngestConfig(), tiny_beir, tmp_path / "ingest")
    out = tmp_path / "gen"
    run_generate(_config(), tmp_path / "ingest", out, progress=False)
    (out / "manifest.json").unlink()  # the next run resumes from the records
    return tmp_path / "ingest", out


def _config() -> GenerateConfig:
    return GenerateConfig(backend=backend_config(name=FAKE), types=["question", "keywords"])


@pytest.mark.parametrize("name,bad,reason", [
    ("queries.jsonl", {"qid": "d1@question", "type": "question"}, "missing required key"),
    ("queries.jsonl", ["a", "list"], "expected a JSON object"),
    ("rejected.jsonl", {"source_id": 7, "type": "question", "reason": "x", "raw": ""},
     "invalid RejectedQuery"),
])
def test_a_malformed_record_on_resume_names_file_and_line(generated, name, bad, reason):
    ingest, out = generated
    lines = (out / "queries.jsonl").read_text().splitlines(keepends=True)
    if name == "queries.jsonl":
        lines.insert(1, json.dumps(bad) + "\n")
        (out / name).write_text("".join(lines))
    else:
        (out / name).write_text(json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=rf"{name}:{2 if name == 'queries.jsonl' else 1}: "
                                        rf".*{reason}"):
        run_generate(_config(), ingest, out, progress=False)


def test_a_torn_last_line_is_redone_on_resume(generated):
    ingest, out = generated
    text = (out / "queries.jsonl").read_text()
    (out / "queries.jsonl").write_text(text[:-20])  # a crash in the middle of the last line
    summary = run_generate(_config(), ingest, out, progress=False)
    assert summary.total_accepted == 12
    assert len((out / "queries.jsonl").read_text().splitlines()) == 12
