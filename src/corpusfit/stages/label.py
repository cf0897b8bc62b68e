"""The label stage: teacher-scored candidates -> training lists ``lists.jsonl``
(the work is :func:`corpusfit.teach.label.label_candidates`).

``shard=(i, n)`` scores one slice into the score cache (no manifest); the unsharded
run then rescores nothing the slices did and writes the lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from corpusfit.data.artifacts import artifact_file
from corpusfit.stages.base import Stage, StageContext, StageResult, run_stage
from corpusfit.stages.layout import RunLayout, Step
from corpusfit.teach.config import LabelConfig
from corpusfit.teach.label import label_candidates


@dataclass
class LabelResult:
    """What a label run did (``skipped``: the folder was up to date, nothing ran)."""

    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    skipped: bool = False

    @property
    def lists_path(self) -> Path:
        return self.out_dir / artifact_file("lists")


@dataclass
class LabelStage(Stage):
    """Mined candidates + corpus -> ``lists.jsonl`` (teacher-scored training lists)."""

    config: LabelConfig
    candidates: Path
    corpus: Path
    cache_dir: Path | None = None  # runtime only: scores are keyed by teacher and text
    embedding_cache: Path | None = None

    name: ClassVar[str] = "label"
    artifacts: ClassVar[tuple[str, ...]] = ("lists",)

    def legacy_configs(self) -> list[dict]:
        return [self.config.model_dump(mode="json")]  # 0.1.0 hashed runtime fields too

    def inputs(self) -> dict[str, Path]:
        return {"candidates": Path(self.candidates), "corpus": Path(self.corpus)}

    def run(self, ctx: StageContext) -> StageResult:
        counts, timings = label_candidates(self.config, self.candidates, self.corpus, ctx.out,
                                           cache_dir=self.cache_dir,
                                           embedding_cache=self.embedding_cache)
        return StageResult(counts, timings)


def run_label(config: LabelConfig, candidates: str | Path, corpus: str | Path,
              out_dir: str | Path, cache_dir: str | Path | None = None,
              shard: tuple[int, int] | None = None, force: bool = False,
              embedding_cache: str | Path | None = None) -> LabelResult:
    """Label ``candidates`` into ``out_dir`` unless up to date; with ``shard``, one slice
    into the score cache only (see :func:`corpusfit.teach.label.label_candidates`)."""
    out_dir = Path(out_dir)
    if shard is not None:
        counts, timings = label_candidates(config, candidates, corpus, out_dir, cache_dir,
                                           shard, embedding_cache)
        return LabelResult(out_dir, counts, timings)
    stage = LabelStage(config, Path(candidates), Path(corpus),
                       Path(cache_dir) if cache_dir else None,
                       Path(embedding_cache) if embedding_cache else None)
    outcome = run_stage(stage, out_dir, force=force)
    return LabelResult(out_dir, outcome.counts, outcome.manifest.get("timings", {}),
                       outcome.skipped)


def steps(layout: RunLayout) -> list[Step]:
    # The score cache lives outside the stage folder: --force label or a changed
    # filter rescores nothing the teacher already scored.
    stage = LabelStage(layout.section("label"), layout.artifact("candidates"),
                       layout.artifact("corpus"), cache_dir=layout.cache_dir / "scores",
                       embedding_cache=layout.cache_dir)
    return [Step(stage, layout.dir("label"), [layout.dir("mine"), layout.dir("ingest")])]
