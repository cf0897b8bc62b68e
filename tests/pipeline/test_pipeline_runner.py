"""The pipeline order over the stage wrapper: manifest skip, config-change rerun of a
stage and everything after, --force, --until, and resume after an interruption.
Fast fake stages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from corpusfit.errors import CorpusfitError
from corpusfit.pipeline import run_steps
from corpusfit.stages.base import Stage, StageContext, StageResult
from corpusfit.stages.layout import Step
from corpusfit.workspace import MANIFEST, write_json


@dataclass
class FakeStage(Stage):
    """Copies its input (the source or the upstream output) and appends its config."""

    name: str
    key: str
    cfg: int
    source: Path
    upstream: Path | None
    owner: FakeStages = field(repr=False)
    outputs: tuple[str, ...] = ("out.txt",)

    def fingerprint_config(self) -> int:
        return self.cfg

    def recorded_config(self) -> int:
        return self.cfg

    def inputs(self) -> dict[str, Path]:
        return {"upstream": self.upstream / "out.txt"} if self.upstream else {"src": self.source}

    def run(self, ctx: StageContext) -> StageResult:
        self.owner.calls.append(self.key)
        if self.owner.fail_in == self.key:
            (ctx.out / "partial.txt").write_text("half")
            raise KeyboardInterrupt
        prev = (self.upstream / "out.txt").read_text() if self.upstream else self.source.read_text()
        (ctx.out / "out.txt").write_text(prev + f"|{self.key}:{self.cfg}")
        return StageResult({"written": 1})


class FakeStages:
    """Three chained stages a -> b -> c (c in two variants)."""

    def __init__(self, tmp: Path):
        self.source = tmp / "source.txt"
        self.source.write_text("hello")
        self.calls: list[str] = []
        self.fail_in: str | None = None

    def units(self, run_dir: Path, cfg: dict) -> list[Step]:
        def make(stage: str, key: str, folder: str, upstream: Path | None) -> Step:
            fake = FakeStage(stage, key, cfg[key], self.source, upstream, self)
            return Step(fake, run_dir / folder, [upstream] if upstream else [])

        a, b = run_dir / "01-ingest", run_dir / "02-generate"
        return [make("ingest", "ingest", "01-ingest", None),
                make("generate", "generate", "02-generate", a),
                make("train", "train", "05-train", b),
                make("train", "train-infonce", "05-train-infonce", b)]


@pytest.fixture
def fake(tmp_path):
    return FakeStages(tmp_path)


CFG = {"ingest": 1, "generate": 2, "train": 3, "train-infonce": 4}


def statuses(results) -> dict[str, str]:
    return {r.key: r.status for r in results}


def test_second_run_skips_everything(tmp_path, fake):
    run = tmp_path / "run"
    first = run_steps(fake.units(run, CFG))
    assert statuses(first) == dict.fromkeys(CFG, "ran")
    second = run_steps(fake.units(run, CFG))
    assert statuses(second) == dict.fromkeys(CFG, "skipped")
    assert fake.calls == list(CFG)
    assert (run / "05-train" / "out.txt").read_text() == "hello|ingest:1|generate:2|train:3"


def test_changed_config_reruns_that_stage_and_everything_after(tmp_path, fake):
    run = tmp_path / "run"
    run_steps(fake.units(run, CFG))
    fake.calls.clear()
    results = run_steps(fake.units(run, {**CFG, "generate": 20}))
    assert statuses(results) == {"ingest": "skipped", "generate": "ran", "train": "ran",
                                 "train-infonce": "ran"}
    assert (run / "05-train" / "out.txt").read_text() == "hello|ingest:1|generate:20|train:3"


def test_changed_variant_config_reruns_only_that_variant(tmp_path, fake):
    run = tmp_path / "run"
    run_steps(fake.units(run, CFG))
    results = run_steps(fake.units(run, {**CFG, "train-infonce": 5}))
    assert statuses(results)["train"] == "skipped"
    assert statuses(results)["train-infonce"] == "ran"


def test_changed_input_file_reruns_from_the_start(tmp_path, fake):
    run = tmp_path / "run"
    run_steps(fake.units(run, CFG))
    fake.source.write_text("changed")
    results = run_steps(fake.units(run, CFG))
    assert set(statuses(results).values()) == {"ran"}


def test_force_reruns_stage_and_downstream_and_clears_folder(tmp_path, fake):
    run = tmp_path / "run"
    run_steps(fake.units(run, CFG))
    (run / "02-generate" / "stale.txt").write_text("x")
    results = run_steps(fake.units(run, CFG), force={"generate"})
    assert statuses(results) == {"ingest": "skipped", "generate": "ran", "train": "ran",
                                 "train-infonce": "ran"}
    assert not (run / "02-generate" / "stale.txt").exists()


def test_force_one_variant_by_key(tmp_path, fake):
    run = tmp_path / "run"
    run_steps(fake.units(run, CFG))
    results = run_steps(fake.units(run, CFG), force={"train-infonce"})
    assert statuses(results) == {"ingest": "skipped", "generate": "skipped",
                                 "train": "skipped", "train-infonce": "ran"}


def test_until_stops_after_the_named_stage(tmp_path, fake):
    run = tmp_path / "run"
    results = run_steps(fake.units(run, CFG), until="generate")
    assert [r.key for r in results] == ["ingest", "generate"]
    assert not (run / "05-train").exists()


def test_unknown_stage_name_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusfitError, match="unknown stage 'trian'"):
        run_steps([], force={"trian"})


def test_interrupted_stage_resumes_without_clearing(tmp_path, fake):
    run = tmp_path / "run"
    fake.fail_in = "generate"
    with pytest.raises(KeyboardInterrupt):
        run_steps(fake.units(run, CFG))
    state = json.loads((run / "02-generate" / ".pipeline.json").read_text())
    assert state["status"] == "running"
    fake.fail_in = None
    results = run_steps(fake.units(run, CFG))
    assert statuses(results)["ingest"] == "skipped"
    assert statuses(results)["generate"] == "ran"
    # same fingerprint: partial work is left for the stage to resume from
    assert (run / "02-generate" / "partial.txt").exists()


def test_changed_config_after_interruption_reruns_and_leaves_partial_work_to_stage(
        tmp_path, fake):
    run = tmp_path / "run"
    fake.fail_in = "generate"
    with pytest.raises(KeyboardInterrupt):
        run_steps(fake.units(run, CFG))
    fake.fail_in = None
    results = run_steps(fake.units(run, {**CFG, "generate": 7}))
    assert statuses(results)["generate"] == "ran"
    # the stage, not the runner, decides what partial work still holds
    assert (run / "02-generate" / "partial.txt").exists()
    assert (run / "05-train" / "out.txt").read_text() == "hello|ingest:1|generate:7|train:3"


def test_manifest_deleted_means_not_done(tmp_path, fake):
    run = tmp_path / "run"
    run_steps(fake.units(run, CFG))
    (run / "05-train" / MANIFEST).unlink()
    results = run_steps(fake.units(run, CFG))
    assert statuses(results)["train"] == "ran"
    assert statuses(results)["train-infonce"] == "skipped"


def test_stage_without_its_outputs_is_an_error(tmp_path, fake):
    step = fake.units(tmp_path, CFG)[0]
    step.stage.outputs = ("never-written.txt",)
    with pytest.raises(CorpusfitError, match="without writing"):
        run_steps([step])
    assert not (tmp_path / "01-ingest" / MANIFEST).exists()
    write_json(tmp_path / "unused.json", {})


def test_force_of_a_unit_not_in_the_run_is_an_error(tmp_path, fake):
    run = tmp_path / "run"
    with pytest.raises(CorpusfitError, match="--force train-typo: no such stage"):
        run_steps(fake.units(run, CFG), force={"train-typo"})


def _as_written_before_upstream_ids(run: Path) -> None:
    """State files as versions before the stage wrapper wrote them: no upstream run ids."""
    for state_file in run.glob("*/.pipeline.json"):
        state = json.loads(state_file.read_text())
        state.pop("upstream")
        state["fingerprint"] = {"config_hash": "outer", "inputs": {}, "version": "0"}
        state_file.write_text(json.dumps(state))


def test_run_directory_of_an_older_version_resumes(tmp_path, fake):
    run = tmp_path / "run"
    run_steps(fake.units(run, CFG))
    _as_written_before_upstream_ids(run)
    fake.calls.clear()
    assert set(statuses(run_steps(fake.units(run, CFG))).values()) == {"skipped"}
    assert fake.calls == []
    # a changed config still reruns that stage and, through its new run id, those after it
    results = run_steps(fake.units(run, {**CFG, "generate": 21}))
    assert statuses(results) == {"ingest": "skipped", "generate": "ran", "train": "ran",
                                 "train-infonce": "ran"}


def test_ingest_folder_written_by_the_old_run_ingest_is_up_to_date(tmp_path):
    """A manifest in the form of 0.1.0 (package version, no schema) is up to date."""
    from corpusfit.data.ingest import IngestConfig
    from corpusfit.stages.ingest import run_ingest
    from corpusfit.workspace import stage_fingerprint, write_manifest

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": f"d{i}", "title": "", "text": f"text {i}"})
                              + "\n" for i in range(4)))
    out = tmp_path / "01-ingest"
    config = IngestConfig(sample=2)
    counts = run_ingest(config, corpus, out)
    (out / ".pipeline.json").unlink()  # a stage command of an older version wrote none
    # The ingest config of that version (no chunking settings: they came later).
    before = {k: v for k, v in config.model_dump().items() if k != "chunk"}
    new = stage_fingerprint(before, {"corpus": str(corpus)})
    old = {"config_hash": new["config_hash"], "inputs": new["inputs"], "version": "0.1.0"}
    write_manifest(out, old, before, {"documents": -1})
    assert run_ingest(config, corpus, out) == {"documents": -1}  # skipped: old manifest read
    assert run_ingest(IngestConfig(sample=3), corpus, out) == {
        **counts, "sampled": 3, "sampled_kept": 2, "sampled_new": 1}  # a larger sample extends
