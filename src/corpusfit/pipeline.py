"""Run the stages in order in one run directory, skipping what is already done.

A stage unit is done when its folder holds the stage's own ``manifest.json``
(written last by the stage) *and* the runner's ``.pipeline.json`` records the
same fingerprint (the unit's config section + hashes of its inputs + package
version) with status ``done``. Inputs include the upstream units' state files,
which get a new run id whenever a unit really runs, so a stage that reruns makes
everything after it rerun too.

A unit that is not done is called again; the stage itself resumes from its own
appends/checkpoints after Ctrl-C or ``kill -9`` and discards partial work that
its own fingerprint no longer matches (config or inputs changed). ``--force``
clears the unit's folder first, so the stage really starts over.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpusfit.errors import CorpusfitError
from corpusfit.workspace import (
    MANIFEST,
    iter_jsonl_tolerant,
    read_json,
    stage_fingerprint,
    write_json,
)

logger = logging.getLogger(__name__)

STAGES = ("ingest", "generate", "mine", "label", "train", "evaluate", "report")
STATE_FILE = ".pipeline.json"


@dataclass
class Unit:
    """One step of a run: a stage (or one training variant) writing into one folder.

    Attributes:
        stage: the stage name (one of :data:`STAGES`), what ``--force``/``--until`` name.
        key: unique name of the unit (``train`` or ``train-infonce``); ``--force`` accepts it.
        folder: folder name inside the run directory, e.g. ``05-train``.
        config: the JSON-able config that, with the inputs, decides whether to rerun.
        inputs: returns name -> file or folder whose hash is part of the fingerprint;
            called only when the unit's turn comes (upstream outputs exist by then).
        run: does the work, given the unit's output folder; must write ``manifest.json`` last.
    """

    stage: str
    key: str
    folder: str
    config: Any
    inputs: Callable[[], dict[str, Path]]
    run: Callable[[Path], None]


@dataclass
class UnitResult:
    key: str
    folder: str
    status: str  # "skipped" | "ran"
    seconds: float
    last_run_seconds: float | None = None


@dataclass
class Runner:
    """Executes units in order with manifest-based skipping, ``--force`` and ``--until``."""

    run_dir: Path
    force: set[str] = field(default_factory=set)
    until: str | None = None

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir)
        for name in [*self.force, *([self.until] if self.until else [])]:
            check_stage_name(name)

    def run(self, units: list[Unit]) -> list[UnitResult]:
        """Run or skip each unit in order; returns what happened to each."""
        known = {u.stage for u in units} | {u.key for u in units}
        unknown = sorted(set(self.force) - known)
        if unknown:
            raise CorpusfitError(f"--force {unknown[0]}: no such stage in this run "
                                 f"(have: {', '.join(u.key for u in units)})")
        results = []
        stop = STAGES.index(self.until) if self.until else len(STAGES)
        for unit in units:
            if STAGES.index(unit.stage) > stop:
                logger.info("stopping before %s (--until %s)", unit.key, self.until)
                break
            results.append(self._run_unit(unit))
        return results

    def _run_unit(self, unit: Unit) -> UnitResult:
        out = self.run_dir / unit.folder
        fingerprint = stage_fingerprint({"stage": unit.key, "config": unit.config}, unit.inputs())
        state = _read_state(out)
        forced = unit.stage in self.force or unit.key in self.force
        if not forced and _is_done(out, state, fingerprint):
            logger.info("%s: up to date, skipped (%s)", unit.key, out)
            return UnitResult(unit.key, unit.folder, "skipped", 0.0, state.get("seconds"))
        if forced and out.exists():
            logger.info("%s: --force, clearing %s", unit.key, out)
            shutil.rmtree(out)
        elif state.get("fingerprint") not in (None, fingerprint):
            # Not cleared: each stage checks its own partial work against its own
            # fingerprint and keeps what still holds (e.g. queries of passages still sampled).
            logger.info("%s: config or inputs changed since the last run; rerunning", unit.key)
        elif state:
            logger.info("%s: resuming an interrupted run in %s", unit.key, out)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / STATE_FILE, {"fingerprint": fingerprint, "status": "running",
                                      "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
        logger.info("%s: running -> %s", unit.key, out)
        t0 = time.perf_counter()
        unit.run(out)
        seconds = time.perf_counter() - t0
        if not (out / MANIFEST).exists():
            raise CorpusfitError(f"stage {unit.key} finished without writing {out / MANIFEST}")
        # A fresh run id makes every downstream unit whose inputs name this state file
        # rerun, even when this unit's outputs happen to hash the same.
        write_json(out / STATE_FILE, {"fingerprint": fingerprint, "status": "done",
                                      "seconds": round(seconds, 3), "run_id": uuid.uuid4().hex,
                                      "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})
        logger.info("%s: done in %.1f s", unit.key, seconds)
        return UnitResult(unit.key, unit.folder, "ran", seconds, seconds)


def done_marker(folder: Path) -> Path:
    """The file a downstream unit lists among its inputs to depend on ``folder``'s unit."""
    return Path(folder) / STATE_FILE


def check_stage_name(name: str) -> str:
    """Accept a stage name or a unit key such as ``train-infonce``."""
    if name in STAGES or name.split("-", 1)[0] in STAGES:
        return name
    raise CorpusfitError(f"unknown stage '{name}' (stages: {', '.join(STAGES)})")


def _read_state(out: Path) -> dict:
    try:
        return read_json(out / STATE_FILE)
    except (OSError, ValueError):
        return {}


def _is_done(out: Path, state: dict, fingerprint: dict) -> bool:
    return (state.get("status") == "done" and state.get("fingerprint") == fingerprint
            and (out / MANIFEST).exists())


# --- the real stages -------------------------------------------------------------------------
# Each builder returns the Units of one stage over a validated config. Stage library
# functions are imported inside ``run`` so that ``corpusfit run --help`` stays fast and a
# stage still being built only fails when its turn comes.

FOLDERS = {"ingest": "01-ingest", "generate": "02-generate", "mine": "03-mine",
           "label": "04-label", "train": "05-train", "evaluate": "06-evaluate",
           "report": "07-report"}


@dataclass
class RunContext:
    """The validated config and the folders of one run."""

    config: Any  # corpusfit.config.RootSettings with stage sections
    run_dir: Path

    def dir(self, stage: str, variant: str | None = None) -> Path:
        return self.run_dir / (FOLDERS[stage] + (f"-{variant}" if variant else ""))

    @property
    def cache_dir(self) -> Path:
        """Embedding cache shared by all stages (keyed by model + settings + text)."""
        return self.run_dir / "cache"

    def section(self, stage: str) -> Any:
        section = getattr(self.config, stage, None)
        if section is None:
            raise CorpusfitError(f"stage '{stage}' is not available in this installation "
                                 f"(its config class could not be imported)")
        return section

    def section_json(self, stage: str) -> Any:
        section = getattr(self.config, stage, None)
        return section.model_dump(mode="json") if section is not None else None


def _ingest_units(ctx: RunContext) -> list[Unit]:
    cfg = ctx.config

    def inputs() -> dict[str, Path]:
        found = {"corpus": Path(cfg.corpus)}
        heldout = getattr(getattr(cfg, "ingest", None), "heldout_file", None)
        if heldout:
            found["heldout"] = Path(heldout)
        return found

    def run(out: Path) -> None:
        from corpusfit.data.ingest import run_ingest

        run_ingest(ctx.section("ingest"), cfg.corpus, out)

    return [Unit("ingest", "ingest", FOLDERS["ingest"], ctx.section_json("ingest"), inputs, run)]


def _generate_units(ctx: RunContext) -> list[Unit]:
    def run(out: Path) -> None:
        from corpusfit.generate.runner import run_generate

        run_generate(ctx.section("generate"), ctx.dir("ingest"), out)

    def inputs() -> dict[str, Path]:
        return {"ingest": done_marker(ctx.dir("ingest"))}

    return [Unit("generate", "generate", FOLDERS["generate"], ctx.section_json("generate"),
                 inputs, run)]


def _mine_units(ctx: RunContext) -> list[Unit]:
    def inputs() -> dict[str, Path]:
        return {"generate": done_marker(ctx.dir("generate")),
                "ingest": done_marker(ctx.dir("ingest"))}

    def run(out: Path) -> None:
        from corpusfit.retrieve.mine import run_mine
        from corpusfit.workspace import write_text

        ingest = ctx.dir("ingest")
        # ingest lists duplicates with what they duplicate; mine wants plain ids.
        dup_ids = [r["_id"] for r in iter_jsonl_tolerant(ingest / "duplicates.jsonl")]
        write_text(out / "duplicates.txt", "".join(f"{i}\n" for i in dup_ids))
        run_mine(ctx.section("mine"), ctx.dir("generate") / "queries.jsonl",
                 ingest / "corpus.jsonl", out, heldout=ingest / "heldout.txt",
                 duplicates=out / "duplicates.txt", cache_dir=ctx.cache_dir)

    return [Unit("mine", "mine", FOLDERS["mine"], ctx.section_json("mine"), inputs, run)]


def _label_units(ctx: RunContext) -> list[Unit]:
    def inputs() -> dict[str, Path]:
        return {"mine": done_marker(ctx.dir("mine")), "ingest": done_marker(ctx.dir("ingest"))}

    def run(out: Path) -> None:
        from corpusfit.teach.label import run_label

        # The score cache lives outside the stage folder: --force label or a changed
        # filter rescoring nothing the teacher already scored.
        run_label(ctx.section("label"), ctx.dir("mine") / "candidates.jsonl",
                  ctx.dir("ingest") / "corpus.jsonl", out, cache_dir=ctx.cache_dir / "scores",
                  embedding_cache=ctx.cache_dir)

    return [Unit("label", "label", FOLDERS["label"], ctx.section_json("label"), inputs, run)]


def _train_units(ctx: RunContext, variants: list[str]) -> list[Unit]:
    from corpusfit.config import variant_train_config

    def make(variant: str | None) -> Unit:
        base = ctx.section("train")
        cfg = variant_train_config(ctx.config, variant) if variant else base
        if getattr(cfg, "cache_dir", "absent") is None:
            # Share the base model's passage embeddings across arms and with evaluate.
            cfg = cfg.model_copy(update={"cache_dir": str(ctx.cache_dir)})

        def inputs() -> dict[str, Path]:
            return {"label": done_marker(ctx.dir("label")),
                    "ingest": done_marker(ctx.dir("ingest"))}

        def run(out: Path) -> None:
            from corpusfit.train.loop import run_train

            run_train(cfg, ctx.dir("label") / "lists.jsonl", ctx.dir("ingest") / "corpus.jsonl",
                      out)

        key = f"train-{variant}" if variant else "train"
        folder = ctx.dir("train", variant).name
        return Unit("train", key, folder, cfg.model_dump(mode="json", exclude={"cache_dir"}),
                    inputs, run)

    return [make(None), *(make(v) for v in variants)]


def trained_model_dir(train_dir: Path) -> Path:
    """The model folder a train unit writes (the train stage writes into its folder itself)."""
    return Path(train_dir)


def _evaluate_units(ctx: RunContext, variants: list[str]) -> list[Unit]:
    cfg = ctx.config
    test_data = cfg.evaluation_data()

    def models() -> dict[str, str]:
        found = {"base": ctx.section("train").student}
        for name in ["", *variants]:
            found[name or "specialized"] = str(trained_model_dir(ctx.dir("train", name or None)))
        return found

    def inputs() -> dict[str, Path]:
        found = {f"train{'-' + v if v else ''}": done_marker(ctx.dir("train", v or None))
                 for v in ["", *variants]}
        found["lists"] = done_marker(ctx.dir("label"))
        if test_data is not None:
            found["test_data"] = Path(test_data)
        return found

    def run(out: Path) -> None:
        from corpusfit.evaluate.stage import run_evaluate

        run_evaluate(ctx.section("evaluate"), out, models(), test_data=test_data,
                     lists_path=ctx.dir("label") / "lists.jsonl",
                     corpus_path=ctx.dir("ingest") / "corpus.jsonl", cache_dir=ctx.cache_dir)

    config = {"evaluate": ctx.section_json("evaluate"), "test_data": str(test_data)}
    return [Unit("evaluate", "evaluate", FOLDERS["evaluate"], config, inputs, run)]


def _report_units(ctx: RunContext, upstream: list[Unit]) -> list[Unit]:
    def inputs() -> dict[str, Path]:
        return {u.key: done_marker(ctx.run_dir / u.folder) for u in upstream}

    def run(out: Path) -> None:
        from corpusfit.evaluate.report import write_report
        from corpusfit.workspace import write_manifest

        t0 = time.perf_counter()
        counts = write_report(ctx.run_dir, out, title=f"corpusfit report: {ctx.run_dir.name}")
        write_manifest(out, {"stage": "report"}, {}, counts,
                       {"seconds": round(time.perf_counter() - t0, 2)})

    return [Unit("report", "report", FOLDERS["report"], {"version": 1}, inputs, run)]


def build_units(ctx: RunContext) -> list[Unit]:
    """Every unit of a run in order: stages, one train unit per variant, evaluate, report."""
    variants = list(ctx.config.variants)
    units = [*_ingest_units(ctx), *_generate_units(ctx), *_mine_units(ctx), *_label_units(ctx),
             *_train_units(ctx, variants), *_evaluate_units(ctx, variants)]
    return units + _report_units(ctx, units)


def run_pipeline(config: Any, run_dir: str | Path, force: set[str] | None = None,
                 until: str | None = None) -> list[UnitResult]:
    """Run (or skip) every stage of ``config`` in ``run_dir``; saves the resolved config."""
    from corpusfit.config import dump_config
    from corpusfit.workspace import write_text

    run_dir = Path(run_dir)
    runner = Runner(run_dir, force=set(force or ()), until=until)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(run_dir / "config.yaml", dump_config(config))
    ctx = RunContext(config, run_dir)
    return runner.run(build_units(ctx))


def final_rows(run_dir: str | Path) -> list[dict]:
    """The final table (one row per evaluated retriever) from the evaluate stage's metrics."""
    from corpusfit.evaluate.report import metric_rows

    run_dir = Path(run_dir)
    path = run_dir / FOLDERS["evaluate"] / "metrics.json"
    if not path.exists():
        return []
    out = []
    for row in metric_rows(read_json(path)):
        name = row.pop("retriever")
        out.append({"model": name, "what": _describe(run_dir, name), **row})
    return out


def _objective(run_dir: Path, folder: str) -> str:
    try:
        manifest = read_json(run_dir / folder / MANIFEST)
        objective = manifest["config"]["objective"]
    except (OSError, ValueError, KeyError, TypeError):
        return "trained"
    text = " + ".join(f"{w:g}×{loss}" if w != 1 else loss for loss, w in objective.items() if w)
    kept = ((manifest.get("counts") or {}).get("result") or {}).get("kept")
    return f"{text}; kept the base model (better dev loss)" if kept == "base" else text


def _describe(run_dir: Path, name: str) -> str:
    """A few words on what a retriever row is, for the printed table."""
    if name == "base":
        return "student before training"
    if name == "bm25":
        return "BM25"
    if name == "hybrid":
        return "RRF(BM25, base)"
    if name.endswith("+bm25"):
        return f"RRF(BM25, {name[:-5]})"
    folder = FOLDERS["train"] + ("" if name == "specialized" else f"-{name}")
    return _objective(run_dir, folder)
