"""The train stage: training lists + student -> a fine-tuned model folder, once per
variant (``train``, ``train-infonce`` ...) (the work is
:func:`corpusfit.train.loop.train_model`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.config import variant_train_config
from corpusfit.fields import results_dump
from corpusfit.models import resolve_model
from corpusfit.retrieve.encoder import model_fingerprint
from corpusfit.stages.base import StageContext, StageResult, run_stage
from corpusfit.stages.layout import RunLayout, Step
from corpusfit.train.config import TrainConfig
from corpusfit.train.loop import TrainResult, train_model
from corpusfit.train.session import MODEL_DIR, model_dir


@dataclass
class TrainStage:
    config: TrainConfig
    lists: Path
    corpus: Path
    key: str = "train"
    on_step: Callable[[int], None] | None = None  # runtime only, like show_progress
    show_progress: bool = True

    name: ClassVar[str] = "train"
    section: ClassVar[str] = "train"
    outputs: ClassVar[tuple[str, ...]] = (MODEL_DIR,)  # the model beside the stage records

    def fingerprint_config(self) -> dict:
        """Config without its runtime-only fields (where it runs) + the student's identity."""
        conf = results_dump(self.config)
        conf["student_fingerprint"] = model_fingerprint(resolve_model(self.config.student))
        return conf

    def recorded_config(self) -> dict:
        return self.config.model_dump(mode="json")

    def inputs(self) -> dict[str, Path]:
        return {"lists": Path(self.lists), "corpus": Path(self.corpus)}

    def run(self, ctx: StageContext) -> StageResult:
        result = train_model(self.config, self.lists, self.corpus, ctx.out,
                             fingerprint=ctx.fingerprint, on_step=self.on_step,
                             show_progress=self.show_progress)
        counts = {**result.counts, "result": result.record()}
        return StageResult(counts, {"train_seconds": result.seconds}, result,
                           record=os.environ.get("RANK", "0") == "0")  # torchrun: rank 0


def run_train(config: TrainConfig, lists: str | Path, corpus: str | Path, out: str | Path, *,
              on_step: Callable[[int], None] | None = None,
              show_progress: bool = True) -> TrainResult:
    """Train into ``out`` (resuming a checkpoint) unless it is up to date."""
    stage = TrainStage(config, Path(lists), Path(corpus), on_step=on_step,
                       show_progress=show_progress)
    outcome = run_stage(stage, out)
    if outcome.skipped:
        return TrainResult.from_manifest(model_dir(out), outcome.manifest)
    return outcome.value


def steps(layout: RunLayout) -> list[Step]:
    """One step per variant: ``train`` and ``train-NAME`` for every config variant."""
    label, ingest = layout.dir("label"), layout.dir("ingest")
    out = []
    for variant in [None, *layout.config.variants]:
        cfg = (variant_train_config(layout.config, variant) if variant
               else layout.section("train"))
        if cfg.cache_dir is None:
            # Share the base model's passage embeddings across arms and with evaluate.
            cfg = cfg.model_copy(update={"cache_dir": str(layout.cache_dir)})
        stage = TrainStage(cfg, label / "lists.jsonl", ingest / "corpus.jsonl",
                           key=f"train-{variant}" if variant else "train")
        out.append(Step(stage, layout.dir("train", variant), [label, ingest]))
    return out
