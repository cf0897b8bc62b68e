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
    student: str = "minilm"  # whose passage length cuts the passage (cut_to_student)

    name: ClassVar[str] = "generate"
    artifacts: ClassVar[tuple[str, ...]] = ("queries", "rejected")

    def fingerprint_config(self) -> dict:
        # Also the recorded config minus runtime-only fields; GenerateConfig.fingerprint
        # adds the one key 0.1.0 hashed for every backend, so those hashes still hold.
        found = self.config.fingerprint()
        if self.config.cut_to_student:
            cut = student_cut(self.ingest_dir, self.student)
            if cut:  # only where the cut changes a prompt: other run folders stay finished
                found["student_cut"] = cut
        return found

    def recorded_config(self) -> dict:
        return self.config.model_dump(exclude={"backend": {"api_key"}})

    def inputs(self) -> dict[str, Path]:
        found = {"corpus": self.ingest_dir / artifact_file("corpus"),
                 "sampled": self.ingest_dir / artifact_file("sampled")}
        if self.config.type_file:
            found["type_file"] = Path(self.config.type_file)
        return found

    def run(self, ctx: StageContext) -> StageResult:
        from corpusfit.retrieve.passage_tokens import passage_tokens

        tokens = passage_tokens(self.student) if self.config.cut_to_student else None
        summary = generate_queries(self.config, self.ingest_dir, ctx.out,
                                   fingerprint=ctx.fingerprint, force=ctx.force,
                                   progress=self.progress, tokens=tokens)
        return StageResult(summary.counts(), {"seconds": round(summary.seconds, 2)}, summary)


def student_cut(ingest_dir: Path, student: str) -> dict | None:
    """The student and the passages its length cuts (None when it cuts none, or before
    ingest has run)."""
    from corpusfit.generate.runner import cut_changes, load_passages
    from corpusfit.retrieve.passage_tokens import passage_tokens
    from corpusfit.workspace import config_hash

    if not (ingest_dir / "sampled.txt").exists() or not (ingest_dir / "corpus.jsonl").exists():
        return None
    whole, _ = load_passages(ingest_dir)
    cut, _ = load_passages(ingest_dir, passage_tokens(student))
    changed = cut_changes(whole, cut)
    return {"student": student, "passages": config_hash(changed)} if changed else None


def run_generate(config: GenerateConfig, ingest_dir: str | Path, out: str | Path, *,
                 force: bool = False, progress: bool = True,
                 student: str = "minilm") -> GenerateSummary:
    """Generate queries for the passages ingest sampled; resumes unless ``force``.

    ``student``: whose passage length cuts the passages (``config.cut_to_student``).
    """
    stage = GenerateStage(config, Path(ingest_dir), progress, student)
    outcome = run_stage(stage, out, force=force)
    if outcome.skipped:
        types = [t.name for t in resolve_types(config.types, config.type_file)]
        return summarize(Path(out) / artifact_file("queries"),
                         Path(out) / artifact_file("rejected"), types)
    return outcome.value


def steps(layout: RunLayout) -> list[Step]:
    ingest = layout.dir("ingest")
    stage = GenerateStage(layout.section("generate"), ingest,
                          student=layout.section("train").student)
    return [Step(stage, layout.dir("generate"), [ingest])]
