"""The ingest stage: a corpus -> normalized ``corpus.jsonl``, duplicates, held-out and
sampled ids (the work is :func:`corpusfit.data.ingest.ingest_corpus`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.data.ingest import IngestConfig, ingest_corpus
from corpusfit.stages.base import Stage, StageContext, StageResult, run_stage
from corpusfit.stages.layout import RunLayout, Step


@dataclass
class IngestStage(Stage):
    """A corpus in any supported format -> the ingest artifacts."""

    config: IngestConfig
    corpus: Path

    name: ClassVar[str] = "ingest"
    artifacts: ClassVar[tuple[str, ...]] = ("corpus", "duplicates", "heldout", "sampled")

    def inputs(self) -> dict[str, Path]:
        found = {"corpus": Path(self.corpus)}
        if self.config.heldout_file:
            found["heldout"] = Path(self.config.heldout_file)
        return found

    def run(self, ctx: StageContext) -> StageResult:
        return StageResult(ingest_corpus(self.config, self.corpus, ctx.out))


def run_ingest(config: IngestConfig, corpus: str | Path, out: str | Path, *,
               force: bool = False) -> dict:
    """Ingest ``corpus`` into ``out`` unless it is up to date; returns the counts."""
    return run_stage(IngestStage(config, Path(corpus)), out, force=force).counts


def steps(layout: RunLayout) -> list[Step]:
    stage = IngestStage(layout.section("ingest"), Path(layout.config.corpus))
    return [Step(stage, layout.dir("ingest"), [])]
