"""The train stage: training lists + student -> a fine-tuned model folder, once per
variant (``train``, ``train-infonce`` ...) (the work is
:func:`corpusfit.train.loop.train_model`). With ``train.init: previous`` a rerun on
changed lists starts from the model the folder holds (:mod:`corpusfit.train.warmstart`);
``--force train`` clears the folder, so it starts from the base model."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.config import variant_train_config
from corpusfit.fields import results_dump
from corpusfit.models import resolve_model
from corpusfit.retrieve.encoder import model_fingerprint
from corpusfit.stages.base import Stage, StageContext, StageResult, run_stage
from corpusfit.stages.layout import RunLayout, Step
from corpusfit.train.config import TrainConfig
from corpusfit.train.loop import TrainResult, train_model
from corpusfit.train.session import STATE_DIR, model_dir
from corpusfit.train.warmstart import LINEAGE


@dataclass
class TrainStage(Stage):
    """Training lists + corpus + student -> a fine-tuned model folder (the stage folder)."""

    config: TrainConfig
    lists: Path
    corpus: Path
    key: str = "train"
    on_step: Callable[[int], None] | None = None  # runtime only, like show_progress
    show_progress: bool = True

    name: ClassVar[str] = "train"
    artifacts: ClassVar[tuple[str, ...]] = ("model",)

    def fingerprint_config(self) -> dict:
        """Config without its runtime-only fields + the student's identity (a model named
        by a short name or hub id is no file to hash)."""
        conf = results_dump(self.config)
        if self.config.init == "base":  # replay only shapes a warm start
            conf.pop("replay", None)
        conf["student_fingerprint"] = model_fingerprint(resolve_model(self.config.student))
        return conf

    def inputs(self) -> dict[str, Path]:
        found = {"lists": Path(self.lists), "corpus": Path(self.corpus)}
        if self.config.guard != "dev_loss" and self.config.probe_queries:
            found["probe_queries"] = Path(self.config.probe_queries)
        return found

    def run(self, ctx: StageContext) -> StageResult:
        if ctx.force:  # start over: neither a checkpoint nor (warm start) the kept model
            shutil.rmtree(ctx.out / STATE_DIR, ignore_errors=True)
            (ctx.out / LINEAGE).unlink(missing_ok=True)
        result = train_model(self.config, self.lists, self.corpus, ctx.out,
                             fingerprint=ctx.fingerprint, on_step=self.on_step,
                             show_progress=self.show_progress)
        counts = {**result.counts, "result": result.record()}
        return StageResult(counts, {"train_seconds": result.seconds}, result,
                           record=os.environ.get("RANK", "0") == "0")  # torchrun: rank 0


def run_train(config: TrainConfig, lists: str | Path, corpus: str | Path, out: str | Path, *,
              on_step: Callable[[int], None] | None = None,
              show_progress: bool = True, force: bool = False) -> TrainResult:
    """Train into ``out`` (resuming a checkpoint) unless it is up to date; ``force``
    retrains from the base model (also with ``init: previous``)."""
    stage = TrainStage(config, Path(lists), Path(corpus), on_step=on_step,
                       show_progress=show_progress)
    outcome = run_stage(stage, out, force=force)
    if outcome.skipped:
        return TrainResult.from_manifest(model_dir(out), outcome.manifest)
    return outcome.value


def steps(layout: RunLayout) -> list[Step]:
    """One step per variant: ``train`` and ``train-NAME`` for every config variant."""
    label, ingest = layout.dir("label"), layout.dir("ingest")
    lists, corpus = layout.artifact("lists"), layout.artifact("corpus")
    out = []
    for variant in [None, *layout.config.variants]:
        cfg = (variant_train_config(layout.config, variant) if variant
               else layout.section("train"))
        if cfg.cache_dir is None:
            # Share the base model's passage embeddings across arms and with evaluate.
            cfg = cfg.model_copy(update={"cache_dir": str(layout.cache_dir)})
        if cfg.guard != "dev_loss" and cfg.probe_queries is None:
            probe = layout.dir("generate", "probe") / "queries.jsonl"
            cfg = cfg.model_copy(update={"probe_queries": str(probe)})
        stage = TrainStage(cfg, lists, corpus,
                           key=f"train-{variant}" if variant else "train")
        after = [label, ingest] + ([layout.dir("generate", "probe")]
                                   if cfg.guard != "dev_loss" else [])
        out.append(Step(stage, layout.dir("train", variant), after))
    return out
