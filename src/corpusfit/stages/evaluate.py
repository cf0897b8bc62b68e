"""The evaluate stage: base vs specialized students (and BM25, hybrids) on the test data,
plus teacher–student agreement on the dev lists (the work is
:func:`corpusfit.evaluate.stage.evaluate_models`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.data.artifacts import artifact_file
from corpusfit.data.chunking import ChunkConfig
from corpusfit.data.readers import load_beir
from corpusfit.evaluate.harness import build_harness, first_dense
from corpusfit.evaluate.results import evaluate_runs, save_results
from corpusfit.evaluate.stage import EvaluateConfig, evaluate_models
from corpusfit.fields import results_dump
from corpusfit.stages.base import Stage, StageContext, StageResult, run_stage
from corpusfit.stages.layout import RunLayout, Step
from corpusfit.teach.config import TeacherConfig
from corpusfit.train.card import record_evaluation
from corpusfit.train.session import model_dir
from corpusfit.workspace import read_json

logger = logging.getLogger(__name__)


@dataclass
class EvaluateStage(Stage):
    """Models + test data (+ dev lists) -> ``metrics.json``, ``per_query.json``,
    ``agreement.json``."""

    config: EvaluateConfig
    models: dict[str, str]  # name -> model folder or short name, the base model first
    test_data: Path | None = None
    lists: Path | None = None
    corpus: Path | None = None
    cache_dir: Path | None = None  # runtime only: embeddings are keyed by model and text
    chunk: ChunkConfig | None = None  # the test documents split as ingest splits the corpus
    teacher: TeacherConfig | None = None  # the run's teacher: its headroom over the base model

    name: ClassVar[str] = "evaluate"
    artifacts: ClassVar[tuple[str, ...]] = ("metrics", "per_query", "agreement")

    def fingerprint_config(self) -> dict:
        found = {**results_dump(self.config), "models": self.models}
        if self.chunk is not None:
            found["chunk"] = results_dump(self.chunk)
        if self.teacher is not None and self.config.headroom_depth > 0:
            found["teacher"] = results_dump(self.teacher)
        return found

    def recorded_config(self) -> dict:
        return {**self.config.model_dump(mode="json"), "models": self.models}

    def inputs(self) -> dict[str, Path]:
        found = {f"model:{n}": Path(m) for n, m in self.models.items() if Path(m).exists()}
        for key, p in (("test_data", self.test_data), ("lists", self.lists)):
            if p is not None:
                found[key] = Path(p)
        return found

    def run(self, ctx: StageContext) -> StageResult:
        metrics, counts, timings = evaluate_models(self.config, ctx.out, self.models,
                                                   self.test_data, self.lists, self.corpus,
                                                   self.cache_dir, self.chunk, self.teacher)
        if metrics:  # the card of each model evaluated carries its numbers
            record_evaluation(self.models, metrics)
        return StageResult(counts, timings, metrics)


def run_evaluate(config: EvaluateConfig, out_dir: str | Path, models: dict[str, str],
                 test_data: Path | None = None, lists_path: Path | None = None,
                 corpus_path: Path | None = None, cache_dir: Path | None = None,
                 chunk: ChunkConfig | None = None,
                 teacher: TeacherConfig | None = None) -> dict:
    """Evaluate ``models`` into ``out_dir`` unless up to date; returns the metrics
    ({} without test data). ``chunk`` splits the test documents as ingest does;
    ``teacher`` (the run's) adds its headroom over the base model."""
    stage = EvaluateStage(config, models, *(Path(p) if p is not None else None
                                            for p in (test_data, lists_path, corpus_path,
                                                      cache_dir)), chunk, teacher)
    outcome = run_stage(stage, out_dir)
    skipped = outcome.skipped
    return read_json(Path(out_dir) / artifact_file("metrics")) if skipped else outcome.value


@dataclass
class RetrieverEvalStage(Stage):
    """``corpusfit eval``: any retrievers (specs) on a BEIR collection -> run files,
    ``metrics.json`` and ``per_query.json``; up to date while specs, settings, test data
    and every model folder or run file named in a spec are unchanged."""

    config: EvaluateConfig
    specs: list[str]
    test_data: Path
    baseline: str | None = None
    cache_dir: str | None = None  # runtime only: embeddings are keyed by model and text
    chunk: ChunkConfig | None = None  # the test documents split as ingest splits a corpus
    student: str | None = None  # whose tokens size those passages (None: the first model)

    name: ClassVar[str] = "evaluate"
    artifacts: ClassVar[tuple[str, ...]] = ("metrics", "per_query")

    def fingerprint_config(self) -> dict:
        found = {**results_dump(self.config), "retrievers": self.specs,
                 "baseline": self.baseline}
        if self.chunk is not None and self.chunk != ChunkConfig():
            found["chunk"] = {**results_dump(self.chunk), "student": self.student}
        return found

    def recorded_config(self) -> dict:
        return {**self.config.model_dump(mode="json"), "retrievers": self.specs,
                "baseline": self.baseline}

    def inputs(self) -> dict[str, Path]:
        parts = {p for spec in self.specs for p in spec.removeprefix("rrf:").split("+")}
        found = {f"retriever:{p}": Path(p) for p in sorted(parts) if Path(p).exists()}
        return {"test_data": self.test_data, **found}

    def run(self, ctx: StageContext) -> StageResult:
        results = evaluate_retrievers(self.config, self.test_data, self.specs, self.baseline,
                                      self.cache_dir, self.chunk, self.student)
        save_results(ctx.out, results.pop("_runs"), results)
        return StageResult({"retrievers": len(self.specs)}, value=results)


def evaluate_retrievers(config: EvaluateConfig, test_data: Path, specs: list[str],
                        baseline: str | None = None, cache_dir: str | None = None,
                        chunk: ChunkConfig | None = None, student: str | None = None) -> dict:
    """Metrics of every retriever ``spec`` on ``test_data`` (``config.split``), with a
    paired test against ``baseline`` (default: the first spec); ``_runs`` holds the runs.

    ``chunk`` splits long test documents into passages (with ``student``'s tokens; default
    the first model among the specs); a document then scores by its passages
    (``config.aggregate``) and metrics are over documents, as the qrels judge them.
    """
    data = load_beir(test_data, config.split)
    logger.info("%s: %d documents, %d judged queries", test_data, len(data.corpus),
                len(data.queries))
    harness = build_harness(data, config.retrieval(cache_dir), chunk,
                            student or first_dense(specs), config.aggregate, config.bm25_unit)
    runs = {spec: harness.run(spec) for spec in specs}
    results = evaluate_runs(data.qrels, runs, baseline=baseline or specs[0])
    return {**results, "units": harness.describe(), "_runs": runs}


def run_eval(config: EvaluateConfig, test_data: str | Path, specs: list[str],
             out: str | Path | None = None, baseline: str | None = None,
             cache_dir: str | None = None, force: bool = False,
             chunk: ChunkConfig | None = None, student: str | None = None) -> dict:
    """Evaluate retrievers; with ``out``, into that folder unless it is up to date."""
    if out is None:
        results = evaluate_retrievers(config, Path(test_data), specs, baseline, cache_dir,
                                      chunk, student)
        results.pop("_runs")
        return results
    stage = RetrieverEvalStage(config, list(specs), Path(test_data), baseline, cache_dir,
                               chunk, student)
    outcome = run_stage(stage, out, force=force)
    return read_json(Path(out) / artifact_file("metrics")) if outcome.skipped else outcome.value


def steps(layout: RunLayout) -> list[Step]:
    variants = list(layout.config.variants)
    trained = [layout.dir("train", v) for v in [None, *variants]]
    models = {"base": layout.section("train").student}
    for name, folder in zip(["specialized", *variants], trained):
        models[name] = str(model_dir(folder))
    test_data = layout.config.evaluation_data()
    stage = EvaluateStage(layout.section("evaluate"), models,
                          Path(test_data) if test_data is not None else None,
                          layout.artifact("lists"), layout.artifact("corpus"), layout.cache_dir,
                          layout.section("ingest").chunk, layout.section("label").teacher)
    return [Step(stage, layout.dir("evaluate"), [*trained, layout.dir("label")])]
