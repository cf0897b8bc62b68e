"""The generate stage: one synthetic query (or rejection) per sampled (passage, type)
(the work is :func:`corpusfit.generate.runner.generate_queries`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.data.artifacts import artifact_file
from corpusfit.generate.config import GenerateConfig
from corpusfit.generate.runner import generate_queries
from corpusfit.generate.stats import GenerateSummary, summarize
from corpusfit.generate.types import resolve_types
from corpusfit.stages.base import Stage, StageContext, StageResult, run_stage
from corpusfit.stages.layout import RunLayout, Step


@dataclass
class GenerateStage(Stage):
    """The ingest folder's sampled passages -> ``queries.jsonl`` and ``rejected.jsonl``."""

    config: GenerateConfig
    ingest_dir: Path
    progress: bool = True  # runtime only: not part of the fingerprint

    name: ClassVar[str] = "generate"
    artifacts: ClassVar[tuple[str, ...]] = ("queries", "rejected")

    def fingerprint_config(self) -> dict:
        # Also the recorded config minus runtime-only fields; GenerateConfig.fingerprint
        # adds the one key 0.1.0 hashed for every backend, so those hashes still hold.
        return self.config.fingerprint()

    def recorded_config(self) -> dict:
        return self.config.model_dump(exclude={"backend": {"api_key"}})

    def inputs(self) -> dict[str, Path]:
        found = {"corpus": self.ingest_dir / artifact_file("corpus"),
                 "sampled": self.ingest_dir / artifact_file("sampled")}
        if self.config.type_file:
            found["type_file"] = Path(self.config.type_file)
        return found

    def run(self, ctx: StageContext) -> StageResult:
        summary = generate_queries(self.config, self.ingest_dir, ctx.out,
                                   fingerprint=ctx.fingerprint, force=ctx.force,
                                   progress=self.progress)
        return StageResult(summary.counts(), {"seconds": round(summary.seconds, 2)}, summary)


def run_generate(config: GenerateConfig, ingest_dir: str | Path, out: str | Path, *,
                 force: bool = False, progress: bool = True) -> GenerateSummary:
    """Generate queries for the passages ingest sampled; resumes unless ``force``."""
    stage = GenerateStage(config, Path(ingest_dir), progress)
    outcome = run_stage(stage, out, force=force)
    if outcome.skipped:
        types = [t.name for t in resolve_types(config.types, config.type_file)]
        return summarize(Path(out) / artifact_file("queries"),
                         Path(out) / artifact_file("rejected"), types)
    return outcome.value


def steps(layout: RunLayout) -> list[Step]:
    ingest = layout.dir("ingest")
    return [Step(GenerateStage(layout.section("generate"), ingest), layout.dir("generate"),
                 [ingest])]
