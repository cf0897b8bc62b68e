"""Ingest: normalization, near-duplicates, held-out ids, seeded sample, manifest resume."""

from __future__ import annotations

import json

import pytest

from corpusfit.cli import main as cli_main
from corpusfit.data.ids import read_id_file as read_ids
from corpusfit.data.ingest import IngestConfig, find_near_duplicates
from corpusfit.data.schema import Document
from corpusfit.errors import DataError
from corpusfit.stages.ingest import run_ingest


def _corpus(tmp_path, docs):
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n"
                            for i, t, x in docs))
    return path


DOCS = [
    ("a", "", "Shock waves  in\nsupersonic flow."),
    ("b", "", "shock waves in supersonic flow"),          # same after normalization as a
    ("c", "", "Shock waves in supersonic flow over a wedge."),  # contains a and b
    ("d", "", "Heat transfer in laminar boundary layers."),
    ("e", "", "Library catalogues and subject indexing."),
    ("f", "", ""),
] + [(f"x{i}", "", f"Distinct passage number {i} about topic {i * 7}.") for i in range(20)]


def test_near_duplicates_point_at_the_longest_container():
    docs = {i: Document(i, x, t) for i, t, x in DOCS}
    dup = find_near_duplicates(docs)
    assert dup["a"] == "c" and dup["b"] == "c"
    assert "c" not in dup and "d" not in dup and "x1" not in dup
    assert len(dup) == 2


def test_ingest_writes_outputs_and_excludes_duplicates_and_heldout(tmp_path):
    out = tmp_path / "ing"
    counts = run_ingest(IngestConfig(heldout_fraction=0.2, seed=3), _corpus(tmp_path, DOCS), out)
    assert counts["duplicates"] == 2 and counts["empty"] == 1
    heldout = read_ids(out / "heldout.txt")
    sampled = read_ids(out / "sampled.txt")
    assert len(heldout) == round(0.2 * len(DOCS))
    assert not set(sampled) & (set(heldout) | {"a", "b", "f"})
    assert len(sampled) == len(DOCS) - 3 - len(set(heldout) - {"a", "b", "f"})
    corpus = [json.loads(line) for line in (out / "corpus.jsonl").read_text().splitlines()]
    assert corpus[0] == {"_id": "a", "title": "", "text": "Shock waves in supersonic flow."}
    dups = [json.loads(line) for line in (out / "duplicates.jsonl").read_text().splitlines()]
    assert {d["_id"] for d in dups} == {"a", "b"}
    assert json.loads((out / "manifest.json").read_text())["counts"]["sampled"] == len(sampled)


def test_sample_is_seeded_and_a_larger_sample_extends_a_smaller_one(tmp_path):
    corpus = _corpus(tmp_path, DOCS)
    run_ingest(IngestConfig(sample=5, seed=1), corpus, tmp_path / "s5")
    run_ingest(IngestConfig(sample=10, seed=1), corpus, tmp_path / "s10")
    run_ingest(IngestConfig(sample=5, seed=2), corpus, tmp_path / "other")
    s5, s10 = read_ids(tmp_path / "s5" / "sampled.txt"), read_ids(tmp_path / "s10" / "sampled.txt")
    assert len(s5) == 5 and s10[:5] == s5
    assert read_ids(tmp_path / "other" / "sampled.txt") != s5


def test_heldout_file_and_unknown_id_error_names_the_line(tmp_path):
    corpus = _corpus(tmp_path, DOCS)
    ids = tmp_path / "held.txt"
    ids.write_text("# held out\nd\n\ne\n")
    run_ingest(IngestConfig(heldout_file=str(ids)), corpus, tmp_path / "o")
    assert read_ids(tmp_path / "o" / "heldout.txt") == ["d", "e"]
    assert not {"d", "e"} & set(read_ids(tmp_path / "o" / "sampled.txt"))
    ids.write_text("d\nnope\n")
    with pytest.raises(DataError, match=r"held.txt:2: unknown document id 'nope'"):
        run_ingest(IngestConfig(heldout_file=str(ids)), corpus, tmp_path / "o2")


def test_manifest_makes_a_rerun_skip_and_a_config_change_redo(tmp_path):
    corpus, out = _corpus(tmp_path, DOCS), tmp_path / "o"
    run_ingest(IngestConfig(sample=3), corpus, out)
    (out / "sampled.txt").write_text("tampered\n")
    run_ingest(IngestConfig(sample=3), corpus, out)  # manifest matches: skipped
    assert read_ids(out / "sampled.txt") == ["tampered"]
    run_ingest(IngestConfig(sample=4), corpus, out)
    assert len(read_ids(out / "sampled.txt")) == 4


def test_cli_ingest_on_cranfield(cranfield, tmp_path, capsys):
    assert cli_main(["ingest", "--data", str(cranfield), "--out", str(tmp_path / "c"),
                     "--sample", "50", "--heldout-fraction", "0.1"]) == 0
    printed = capsys.readouterr().out
    assert "documents 1400" in printed and "sampled 50" in printed
    assert len(read_ids(tmp_path / "c" / "sampled.txt")) == 50


def test_cli_rejects_both_heldout_sources(tmp_path, capsys):
    corpus = _corpus(tmp_path, DOCS)
    rc = cli_main(["ingest", "--data", str(corpus), "--out", str(tmp_path / "o"),
                   "--heldout-fraction", "0.1", "--heldout-file", str(corpus)])
    assert rc == 2 and "not both" in capsys.readouterr().err
