"""Probe passages: a seeded sample outside the training sample; the sample is unchanged."""

from __future__ import annotations

from corpusfit.data.ingest import IngestConfig, ingest_corpus
from corpusfit.evaluate.labelfree_config import LabelfreeConfig
from corpusfit.stages.probe import choose_probe, probe_ids


def test_choose_probe_excludes_and_a_larger_budget_extends():
    ids = [f"d{i}" for i in range(30)]
    small = choose_probe(ids, {"d1", "d2"}, 5, seed=1)
    large = choose_probe(ids, {"d1", "d2"}, 10, seed=1)
    assert len(small) == 5 and large[:5] == small
    assert not {"d1", "d2"} & set(large)
    assert choose_probe(ids, set(), 5, seed=2) != choose_probe(ids, set(), 5, seed=1)


def test_probe_passages_are_neither_sampled_nor_held_out(tmp_path, tiny_beir):
    out = tmp_path / "ingest"
    ingest_corpus(IngestConfig(sample=2, heldout_fraction=0.2), tiny_beir, out)
    sampled = set((out / "sampled.txt").read_text().split())
    heldout = set((out / "heldout.txt").read_text().split())
    probes = probe_ids(out, LabelfreeConfig(passages=50))
    assert probes and not (set(probes) & (sampled | heldout))
    assert len(probes) == 6 - len(sampled) - len(heldout)  # tiny_beir: 6 passages


def test_everything_sampled_leaves_no_probe(tmp_path, tiny_beir):
    out = tmp_path / "ingest"
    ingest_corpus(IngestConfig(), tiny_beir, out)
    assert probe_ids(out, LabelfreeConfig()) == []


def test_probe_step_generates_for_the_probes_only(tmp_path, tiny_beir):
    from corpusfit.generate.config import GenerateConfig
    from corpusfit.stages.base import run_stage
    from corpusfit.stages.probe import ProbeStage

    ingest = tmp_path / "ingest"
    ingest_corpus(IngestConfig(sample=2), tiny_beir, ingest)
    config = GenerateConfig(types=["question", "title"], backend={
        "name": "pipeline_fake_backend:TemplateBackend", "options": {"delay": 0.0}})
    out = tmp_path / "probe"
    outcome = run_stage(ProbeStage(config, LabelfreeConfig(passages=3), ingest,
                                   progress=False), out)
    probes = (out / "probe.txt").read_text().split()
    sampled = set((ingest / "sampled.txt").read_text().split())
    assert len(probes) == 3 and not set(probes) & sampled
    import json
    records = [json.loads(x) for x in (out / "queries.jsonl").read_text().splitlines()]
    assert {r["source_id"] for r in records} == set(probes)
    assert {r["type"] for r in records} == {"question", "title"}
    assert outcome.counts["probe_passages"] == 3
    assert "seconds" in outcome.manifest["timings"]
    again = run_stage(ProbeStage(config, LabelfreeConfig(passages=3), ingest,
                                 progress=False), out)
    assert again.skipped
