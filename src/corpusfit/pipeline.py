"""The order of the stages in one run directory; everything else is the stages' own.

Each stage module (:mod:`corpusfit.stages.ingest` ... :mod:`corpusfit.stages.report`)
places its stage in the run directory (its folder and the folders it comes after);
:func:`corpusfit.stages.base.run_stage` skips what is done, resumes what was
interrupted and records the result. Here: the order, ``--until`` and ``--force``
(which clears a stage's folder first, so that the stage really starts over; every
stage after it then reruns because it came after a new run).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from corpusfit.config import dump_config
from corpusfit.errors import CorpusfitError
from corpusfit.stages import (
    evaluate,
    generate,
    ingest,
    label,
    labelfree,
    mine,
    probe,
    report,
    train,
)
from corpusfit.stages.base import StageOutcome, run_stage
from corpusfit.stages.layout import FOLDERS, STAGES, RunLayout, Step, check_stage_name
from corpusfit.workspace import STATE_FILE, write_text

__all__ = ["FOLDERS", "STAGES", "STATE_FILE", "plan", "run_pipeline", "run_steps"]

logger = logging.getLogger(__name__)


def plan(layout: RunLayout) -> list[Step]:
    """Every step of a run in order: the stages, one train step per variant, the report."""
    steps = [*ingest.steps(layout), *generate.steps(layout), *probe.steps(layout),
             *mine.steps(layout),
             *label.steps(layout), *train.steps(layout), *evaluate.steps(layout),
             *labelfree.steps(layout)]
    return steps + report.steps(layout, steps)


def run_steps(steps: list[Step], force: set[str] | None = None,
              until: str | None = None) -> list[StageOutcome]:
    """Run or skip each step in order; ``force`` names stages or keys (``train-infonce``)."""
    force = set(force or ())
    for name in [*force, *([until] if until else [])]:
        check_stage_name(name)
    known = {s.stage.name for s in steps} | {s.stage.key for s in steps}
    unknown = sorted(force - known)
    if unknown:
        raise CorpusfitError(f"--force {unknown[0]}: no such stage in this run "
                             f"(have: {', '.join(s.stage.key for s in steps)})")
    stop = STAGES.index(until) if until else len(STAGES)
    outcomes = []
    gate = _gate()
    try:
        for step in steps:
            stage = step.stage
            if STAGES.index(stage.name) > stop:
                logger.info("stopping before %s (--until %s)", stage.key, until)
                break
            forced = stage.name in force or stage.key in force
            if gate is None or gate.runs_here(stage.name):
                if forced and step.out.exists() and (gate is None or gate.ctx.is_main):
                    logger.info("%s: --force, clearing %s", stage.key, step.out)
                    shutil.rmtree(step.out)
                outcomes.append(run_stage(stage, step.out, force=forced, after=step.after))
            if gate is not None:
                gate.done()
    finally:
        if gate is not None:
            gate.close()
    return outcomes


def _gate():
    """Under torchrun (``WORLD_SIZE`` > 1) the ranks' stage gate, else None."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    from corpusfit.train.distributed import StageGate

    return StageGate()


def run_pipeline(config: Any, run_dir: str | Path, force: set[str] | None = None,
                 until: str | None = None) -> list[StageOutcome]:
    """Run (or skip) every stage of ``config`` in ``run_dir``; saves the resolved config."""
    run_dir = Path(run_dir)
    for name in [*(force or ()), *([until] if until else [])]:
        check_stage_name(name)  # before anything is written
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(run_dir / "config.yaml", dump_config(config))
    return run_steps(plan(RunLayout(config, run_dir)), force, until)
