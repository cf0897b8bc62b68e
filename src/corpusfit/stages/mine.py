"""The mine stage: candidate passages for every synthetic query from fused retrievers
(the work is :func:`corpusfit.retrieve.mine.mine_candidates`).

``shard=(i, n)`` mines one slice into ``shards/`` (no manifest: the folder is not done);
``merge_shards=n`` joins the finished slices and completes the stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from corpusfit.data.artifacts import artifact_file
from corpusfit.retrieve.mine import MineConfig, merge_shards, mine_candidates
from corpusfit.stages.base import Stage, StageContext, StageResult, fingerprint_of, run_stage
from corpusfit.stages.layout import RunLayout, Step


@dataclass
class MineResult:
    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    skipped: bool = False

    @property
    def candidates_path(self) -> Path:
        return self.out_dir / artifact_file("candidates")


@dataclass
class MineStage(Stage):
    """Synthetic queries + corpus -> ``candidates.jsonl`` (fused candidates per query)."""

    config: MineConfig
    queries: Path
    corpus: Path
    heldout: Path | None = None
    duplicates: Path | None = None
    cache_dir: Path | None = None  # runtime only: embeddings are keyed by model and text
    merge_shards: int | None = None  # join this many finished shards instead of mining

    name: ClassVar[str] = "mine"
    artifacts: ClassVar[tuple[str, ...]] = ("candidates",)

    def inputs(self) -> dict[str, Path]:
        found = {"queries": Path(self.queries), "corpus": Path(self.corpus)}
        found.update({k: Path(v) for k, v in (("heldout", self.heldout),
                                              ("duplicates", self.duplicates)) if v})
        return found

    def run(self, ctx: StageContext) -> StageResult:
        if self.merge_shards:
            return StageResult(merge_shards(self.queries, ctx.out, self.merge_shards,
                                            ctx.fingerprint))
        return StageResult(self.mine(ctx.out, ctx.fingerprint))

    def mine(self, out: Path, fingerprint: dict, shard: tuple[int, int] | None = None) -> dict:
        return mine_candidates(self.config, self.queries, self.corpus, out,
                               fingerprint=fingerprint, heldout=self.heldout,
                               duplicates=self.duplicates, cache_dir=self.cache_dir, shard=shard)


def _paths(*values: str | Path | None) -> list[Path | None]:
    return [Path(v) if v else None for v in values]


def run_mine(config: MineConfig, queries: str | Path, corpus: str | Path, out_dir: str | Path,
             heldout: str | Path | None = None, duplicates: str | Path | None = None,
             cache_dir: str | Path | None = None, shard: tuple[int, int] | None = None,
             force: bool = False) -> MineResult:
    """Mine candidates into ``out_dir`` unless up to date; with ``shard``, one slice only."""
    stage = MineStage(config, *_paths(queries, corpus, heldout, duplicates, cache_dir))
    out_dir = Path(out_dir)
    if shard is not None:
        return MineResult(out_dir, stage.mine(out_dir, fingerprint_of(stage), shard))
    outcome = run_stage(stage, out_dir, force=force)
    return MineResult(out_dir, outcome.counts, outcome.skipped)


def merge_mine(config: MineConfig, queries: str | Path, corpus: str | Path,
               out_dir: str | Path, n_shards: int, heldout: str | Path | None = None,
               duplicates: str | Path | None = None) -> MineResult:
    """Join the ``n_shards`` slices of :func:`run_mine` and finish the stage."""
    stage = MineStage(config, *_paths(queries, corpus, heldout, duplicates),
                      merge_shards=n_shards)
    outcome = run_stage(stage, out_dir, force=True)
    return MineResult(Path(out_dir), outcome.counts)


def steps(layout: RunLayout) -> list[Step]:
    a = layout.artifact
    stage = MineStage(layout.section("mine"), a("queries"), a("corpus"), heldout=a("heldout"),
                      duplicates=a("duplicates"), cache_dir=layout.cache_dir)
    return [Step(stage, layout.dir("mine"), [layout.dir("generate"), layout.dir("ingest")])]
