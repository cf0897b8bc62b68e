"""The ingest stage: a corpus -> normalized ``corpus.jsonl``, duplicates, held-out and
sampled ids (the work is :func:`corpusfit.data.ingest.ingest_corpus`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.data.chunking import ChunkConfig
from corpusfit.data.ingest import IngestConfig, ingest_corpus
from corpusfit.fields import results_dump
from corpusfit.stages.base import Stage, StageContext, StageResult, run_stage
from corpusfit.stages.layout import RunLayout, Step


@dataclass
class IngestStage(Stage):
    """A corpus in any supported format -> the ingest artifacts."""

    config: IngestConfig
    corpus: Path
    student: str = "minilm"  # whose tokens size the passages documents are split into

    name: ClassVar[str] = "ingest"
    artifacts: ClassVar[tuple[str, ...]] = ("corpus", "duplicates", "heldout", "sampled")

    def fingerprint_config(self) -> dict:
        found = super().fingerprint_config()
        # A record corpus under the default chunking was read as earlier versions read it
        # (split only when most records are long): its run folders stay finished. Where
        # documents are split, the student's tokens size the passages.
        if (found.get("chunk") == results_dump(ChunkConfig())
                and not _document_files(self.corpus)):
            found.pop("chunk")
        else:
            found["student"] = self.student
        return found

    def recorded_config(self) -> dict:
        return {**super().recorded_config(), "student": self.student}

    def inputs(self) -> dict[str, Path]:
        found = {"corpus": Path(self.corpus)}
        if self.config.heldout_file:
            found["heldout"] = Path(self.config.heldout_file)
        return found

    def run(self, ctx: StageContext) -> StageResult:
        from corpusfit.retrieve.passage_tokens import passage_tokens

        tokens = passage_tokens(self.student) if self.config.chunk.mode != "never" else None
        return StageResult(ingest_corpus(self.config, self.corpus, ctx.out, tokens))


def _document_files(corpus: Path) -> bool:
    """A folder of document files (not a BEIR folder, corpus.jsonl or TSV)."""
    return corpus.is_dir() and not any((corpus / n).exists()
                                       for n in ("corpus.jsonl", "corpus.jsonl.gz"))


def run_ingest(config: IngestConfig, corpus: str | Path, out: str | Path, *,
               force: bool = False, student: str = "minilm") -> dict:
    """Ingest ``corpus`` into ``out`` unless it is up to date; returns the counts.

    ``student`` is the model whose tokens size the passages documents are split into.
    """
    return run_stage(IngestStage(config, Path(corpus), student), out, force=force).counts


def steps(layout: RunLayout) -> list[Step]:
    stage = IngestStage(layout.section("ingest"), Path(layout.config.corpus),
                        layout.section("train").student)
    return [Step(stage, layout.dir("ingest"), [])]
