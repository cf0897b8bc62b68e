"""One fingerprint rule for every stage: the recorded config without runtime-only fields,
the input hashes and the artifacts' schema versions; never the package version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import corpusfit.version
from corpusfit.data.ingest import IngestConfig
from corpusfit.stages.base import legacy_hashes
from corpusfit.stages.ingest import IngestStage, run_ingest
from corpusfit.stages.label import LabelStage, run_label
from corpusfit.teach.config import LabelConfig, teacher_config
from corpusfit.workspace import (
    MANIFEST,
    config_hash,
    fingerprint_matches,
    read_json,
    write_json,
)


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": f"d{i}", "title": "", "text": f"text {i}"})
                              + "\n" for i in range(4)))
    return corpus


def as_0_1_0(manifest_path: Path, config_hash_then: str | None = None) -> None:
    """Rewrite a manifest into the form 0.1.0 wrote: the package version, no schema."""
    m = read_json(manifest_path)
    m.pop("schema")
    m["version"] = "0.1.0"
    if config_hash_then:
        m["config_hash"] = config_hash_then
    write_json(manifest_path, m)


def test_the_fingerprint_holds_no_package_version(tmp_path, monkeypatch):
    stage = IngestStage(IngestConfig(), _corpus(tmp_path))
    before = stage.fingerprint()
    assert set(before) == {"config_hash", "inputs", "schema"}
    assert before["schema"] == {"corpus": 1, "duplicates": 1, "heldout": 1, "sampled": 1}
    monkeypatch.setattr(corpusfit.version, "__version__", "2.0.0")
    assert stage.fingerprint() == before


def test_a_manifest_of_0_1_0_still_matches_and_a_changed_input_does_not(tmp_path):
    corpus, out = _corpus(tmp_path), tmp_path / "ingest"
    run_ingest(IngestConfig(sample=2), corpus, out)
    as_0_1_0(out / MANIFEST)
    (out / ".pipeline.json").unlink()
    assert run_ingest(IngestConfig(sample=2), corpus, out)["sampled"] == 2
    assert "version" in read_json(out / MANIFEST)  # skipped: the old manifest was kept
    corpus.write_text(corpus.read_text() + '{"_id": "d9", "text": "new"}\n')
    run_ingest(IngestConfig(sample=2), corpus, out)
    assert "schema" in read_json(out / MANIFEST)  # the input changed: it ran again


def test_an_old_state_file_of_a_partial_run_matches_the_new_fingerprint():
    new = {"config_hash": "abc", "schema": {"queries": 1}, "corpus": "h1"}
    assert fingerprint_matches({"config_hash": "abc", "version": "0.1.0", "corpus": "h1"}, new)
    assert not fingerprint_matches({"config_hash": "abc", "version": "0.1.0", "corpus": "h2"},
                                   new)
    assert not fingerprint_matches({"config_hash": "abc", "version": "0.1.0", "corpus": "h1"},
                                   {**new, "schema": {"queries": 2}})  # a new meaning


def _label_stage(tmp_path: Path, **teacher) -> LabelStage:
    config = LabelConfig(teacher=teacher_config(**teacher))
    cand = tmp_path / "candidates.jsonl"
    cand.touch()
    return LabelStage(config, cand, tmp_path / "corpus.jsonl")


def test_runtime_only_teacher_fields_are_not_in_the_label_fingerprint(tmp_path):
    ql = {"kind": "query-likelihood", "model": "smollm2"}
    slow = _label_stage(tmp_path, **ql, n_threads=2, batch_size=4)
    fast = _label_stage(tmp_path, **ql, n_threads=16, batch_size=64, device="cpu")
    assert slow.fingerprint() == fast.fingerprint()
    assert slow.fingerprint() != _label_stage(tmp_path, **ql, max_query_tokens=32).fingerprint()
    # 0.1.0 hashed the whole config: that form is still accepted for an old manifest
    assert config_hash(slow.config.model_dump(mode="json")) in legacy_hashes(slow)


@pytest.mark.slow
def test_a_runtime_only_teacher_field_does_not_rerun_label(tmp_path, tiny_beir, tiny_bert):
    cand = tmp_path / "candidates.jsonl"
    docs = ["d1", "d2", "d3", "d4", "d5", "d6"]
    cand.write_text("".join(json.dumps({
        "qid": f"s{i}", "query": q, "type": "keywords", "source_id": s, "doc_ids": docs,
        "rrf_scores": [0.1] * 6, "ranks": {"bm25": [1, 2, 3, 4, 5, 6]}}) + "\n"
        for i, (q, s) in enumerate([("lift of a wing", "d1"), ("heat transfer", "d3")])))

    def config(**runtime) -> LabelConfig:
        teacher = teacher_config(kind="dense", model=str(tiny_bert), **runtime)
        return LabelConfig(teacher=teacher, score_depth=5, list_size=4,
                           require_source_first=False, min_top_percentile=None)

    out = tmp_path / "label"
    first = run_label(config(batch_size=16), cand, tiny_beir, out)
    assert not first.skipped
    again = run_label(config(batch_size=2, device="cpu"), cand, tiny_beir, out)
    assert again.skipped
    # a label directory of 0.1.0 (whole config hashed, package version) resumes too
    as_0_1_0(out / MANIFEST, config_hash(config(batch_size=2).model_dump(mode="json")))
    assert run_label(config(batch_size=2), cand, tiny_beir, out).skipped
