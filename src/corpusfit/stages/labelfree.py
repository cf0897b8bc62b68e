"""The label-free evaluation step: base vs trained models on the probe queries, folder
``06-evaluate-labelfree`` (the work is
:func:`corpusfit.evaluate.labelfree.labelfree_evaluation`). It needs no test data: a run
without judged queries still gets a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.evaluate.stage import EvaluateConfig
from corpusfit.fields import results_dump
from corpusfit.stages.base import Stage, StageContext, StageResult
from corpusfit.stages.layout import RunLayout, Step
from corpusfit.teach.config import TeacherConfig
from corpusfit.train.session import model_dir
from corpusfit.workspace import write_json

RESULT_FILE = "labelfree.json"


@dataclass
class LabelfreeStage(Stage):
    """Probe queries + corpus + models (+ the run's teacher) -> ``labelfree.json``."""

    config: EvaluateConfig
    models: dict[str, str]  # name -> model folder or short name, the base model first
    queries: Path
    corpus: Path
    duplicates: Path | None = None
    cache_dir: Path | None = None  # runtime only
    teacher: TeacherConfig | None = None  # the run's teacher: its headroom on the probes

    name: ClassVar[str] = "evaluate"
    key: str = "evaluate-labelfree"
    artifacts: ClassVar[tuple[str, ...]] = ("labelfree",)

    def fingerprint_config(self) -> dict:
        dump = results_dump(self.config)
        found = {"labelfree": results_dump(self.config.labelfree),
                 **{k: dump[k] for k in ("depth", "rrf_k") if k in dump},
                 "models": self.models}
        if self.teacher is not None and self.config.headroom_depth > 0:
            found.update(teacher=results_dump(self.teacher),
                         headroom_depth=self.config.headroom_depth)
        return found

    def recorded_config(self) -> dict:
        return {"labelfree": self.config.labelfree.model_dump(mode="json"),
                "models": self.models}

    def inputs(self) -> dict[str, Path]:
        found = {f"model:{n}": Path(m) for n, m in self.models.items() if Path(m).exists()}
        found.update(queries=self.queries, corpus=self.corpus)
        if self.duplicates is not None:
            found["duplicates"] = self.duplicates
        return found

    def run(self, ctx: StageContext) -> StageResult:
        from corpusfit.evaluate.labelfree import labelfree_evaluation

        settings = self.config.retrieval(str(self.cache_dir) if self.cache_dir else None)
        result = labelfree_evaluation(self.config.labelfree, self.corpus, self.queries,
                                      self.models, settings, self.duplicates, self.teacher,
                                      self.config.headroom_depth, self.cache_dir)
        write_json(ctx.out / RESULT_FILE, result)
        counts = {"queries": result["queries"],
                  "verdicts": {n: c["verdict"] for n, c in result["models"].items()}}
        if "teacher_headroom" in result:
            counts["teacher_ahead"] = result["teacher_headroom"]["ahead"]
        return StageResult(counts, value=result)


def steps(layout: RunLayout) -> list[Step]:
    """After training, unless ``evaluate.labelfree.passages`` is 0."""
    config = layout.section("evaluate")
    if not config.labelfree.passages:
        return []
    variants = list(layout.config.variants)
    trained = [layout.dir("train", v) for v in [None, *variants]]
    models = {"base": layout.section("train").student}
    for name, folder in zip(["specialized", *variants], trained):
        models[name] = str(model_dir(folder))
    probe = layout.dir("generate", "probe")
    stage = LabelfreeStage(config, models, probe / "queries.jsonl", layout.artifact("corpus"),
                           layout.artifact("duplicates"), layout.cache_dir,
                           layout.section("label").teacher)
    return [Step(stage, layout.dir("evaluate", "labelfree"), [*trained, probe])]
