"""The evaluate stage: base vs specialized students (and BM25, hybrids) on the test data,
plus teacher–student agreement on the dev lists (the work is
:func:`corpusfit.evaluate.stage.evaluate_models`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.evaluate.stage import EvaluateConfig, evaluate_models
from corpusfit.fields import results_dump
from corpusfit.stages.base import StageContext, StageResult, run_stage
from corpusfit.stages.layout import RunLayout, Step
from corpusfit.train.card import record_evaluation
from corpusfit.train.session import model_dir
from corpusfit.workspace import read_json


@dataclass
class EvaluateStage:
    config: EvaluateConfig
    models: dict[str, str]  # name -> model folder or short name, the base model first
    test_data: Path | None = None
    lists: Path | None = None
    corpus: Path | None = None
    cache_dir: Path | None = None  # runtime only: embeddings are keyed by model and text

    name: ClassVar[str] = "evaluate"
    key: ClassVar[str] = "evaluate"
    section: ClassVar[str] = "evaluate"
    outputs: ClassVar[tuple[str, ...]] = ("metrics.json",)

    def fingerprint_config(self) -> dict:
        return {**results_dump(self.config), "models": self.models}

    def recorded_config(self) -> dict:
        return self.fingerprint_config()

    def inputs(self) -> dict[str, Path]:
        found = {f"model:{n}": Path(m) for n, m in self.models.items() if Path(m).exists()}
        for key, p in (("test_data", self.test_data), ("lists", self.lists)):
            if p is not None:
                found[key] = Path(p)
        return found

    def run(self, ctx: StageContext) -> StageResult:
        metrics, counts, timings = evaluate_models(self.config, ctx.out, self.models,
                                                   self.test_data, self.lists, self.corpus,
                                                   self.cache_dir)
        if metrics:  # the card of each model evaluated carries its numbers
            record_evaluation(self.models, metrics)
        return StageResult(counts, timings, metrics)


def run_evaluate(config: EvaluateConfig, out_dir: str | Path, models: dict[str, str],
                 test_data: Path | None = None, lists_path: Path | None = None,
                 corpus_path: Path | None = None, cache_dir: Path | None = None) -> dict:
    """Evaluate ``models`` into ``out_dir`` unless up to date; returns the metrics
    ({} without test data)."""
    stage = EvaluateStage(config, models, *(Path(p) if p is not None else None
                                            for p in (test_data, lists_path, corpus_path,
                                                      cache_dir)))
    outcome = run_stage(stage, out_dir)
    return read_json(Path(out_dir) / "metrics.json") if outcome.skipped else outcome.value


def steps(layout: RunLayout) -> list[Step]:
    variants = list(layout.config.variants)
    trained = [layout.dir("train", v) for v in [None, *variants]]
    models = {"base": layout.section("train").student}
    for name, folder in zip(["specialized", *variants], trained):
        models[name] = str(model_dir(folder))
    test_data = layout.config.evaluation_data()
    label = layout.dir("label")
    stage = EvaluateStage(layout.section("evaluate"), models,
                          Path(test_data) if test_data is not None else None,
                          label / "lists.jsonl", layout.dir("ingest") / "corpus.jsonl",
                          layout.cache_dir)
    return [Step(stage, layout.dir("evaluate"), [*trained, label])]
