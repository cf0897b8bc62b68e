"""The evaluate stage: base vs specialized students (and BM25, hybrids) on the test data,
plus teacher–student agreement on the dev lists (the work is
:func:`corpusfit.evaluate.stage.evaluate_models`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.data.chunking import ChunkConfig
from corpusfit.evaluate.stage import EvaluateConfig, evaluate_models
from corpusfit.fields import results_dump
from corpusfit.stages.base import StageContext, StageResult, run_stage
from corpusfit.stages.layout import RunLayout, Step
from corpusfit.train.card import record_evaluation
from corpusfit.workspace import read_json


@dataclass
class EvaluateStage:
    config: EvaluateConfig
    models: dict[str, str]  # name -> model folder or short name, the base model first
    test_data: Path | None = None
    lists: Path | None = None
    corpus: Path | None = None
    cache_dir: Path | None = None  # runtime only: embeddings are keyed by model and text
    chunk: ChunkConfig | None = None  # the test documents split as ingest splits the corpus

    name: ClassVar[str] = "evaluate"
    key: ClassVar[str] = "evaluate"
    section: ClassVar[str] = "evaluate"
    outputs: ClassVar[tuple[str, ...]] = ("metrics.json",)

    def fingerprint_config(self) -> dict:
        found = {**results_dump(self.config), "models": self.models}
        if self.chunk is not None:
            found["chunk"] = results_dump(self.chunk)
        return found

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
                                                   self.cache_dir, self.chunk)
        if metrics:  # the card of each model evaluated carries its numbers
            record_evaluation(self.models, metrics)
        return StageResult(counts, timings, metrics)


def run_evaluate(config: EvaluateConfig, out_dir: str | Path, models: dict[str, str],
                 test_data: Path | None = None, lists_path: Path | None = None,
                 corpus_path: Path | None = None, cache_dir: Path | None = None,
                 chunk: ChunkConfig | None = None) -> dict:
    """Evaluate ``models`` into ``out_dir`` unless up to date; returns the metrics
    ({} without test data). ``chunk`` splits the test documents as ingest does."""
    stage = EvaluateStage(config, models, *(Path(p) if p is not None else None
                                            for p in (test_data, lists_path, corpus_path,
                                                      cache_dir)), chunk)
    outcome = run_stage(stage, out_dir)
    return read_json(Path(out_dir) / "metrics.json") if outcome.skipped else outcome.value


def steps(layout: RunLayout) -> list[Step]:
    variants = list(layout.config.variants)
    trained = [layout.dir("train", v) for v in [None, *variants]]
    models = {"base": layout.section("train").student}
    for name, folder in zip(["specialized", *variants], trained):
        models[name] = str(folder)
    test_data = layout.config.evaluation_data()
    label = layout.dir("label")
    stage = EvaluateStage(layout.section("evaluate"), models,
                          Path(test_data) if test_data is not None else None,
                          label / "lists.jsonl", layout.dir("ingest") / "corpus.jsonl",
                          layout.cache_dir, layout.section("ingest").chunk)
    return [Step(stage, layout.dir("evaluate"), [*trained, label])]
