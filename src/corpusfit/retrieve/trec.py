"""TREC runs: one retriever's scored documents per query (not a pipeline run), and
their file format, ``qid Q0 docid rank score tag``."""

from __future__ import annotations

import math
from pathlib import Path

from corpusfit.errors import DataError
from corpusfit.reading import read_lines
from corpusfit.workspace import atomic_path

TrecRun = dict[str, dict[str, float]]
"""query id -> document id -> score (higher is better)."""


def ranked(docs: dict[str, float], depth: int | None = None) -> list[tuple[str, float]]:
    """Documents sorted by score (desc), ties broken by doc id for determinism."""
    items = sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))
    return items[:depth] if depth else items


def write_trec_run(path: str | Path, run: TrecRun, tag: str = "corpusfit") -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for qid in run:
            for rank, (did, score) in enumerate(ranked(run[qid]), start=1):
                f.write(f"{qid} Q0 {did} {rank} {score!r} {tag}\n")


def read_trec_run(path: str | Path) -> TrecRun:
    path = Path(path)
    run: TrecRun = {}
    for i, line in read_lines(path, "run file"):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 6:
            raise DataError(path, i, f"expected 6 fields in a TREC run line, got {len(parts)}")
        try:
            score = float(parts[4])
        except ValueError as e:
            raise DataError(path, i, f"score '{parts[4]}' is not a number") from e
        if not math.isfinite(score):  # NaN would rank the run arbitrarily
            raise DataError(path, i, f"score '{parts[4]}' is not a finite number")
        if parts[2] in run.get(parts[0], {}):
            raise DataError(path, i, f"document '{parts[2]}' appears twice for query "
                                     f"'{parts[0]}'")
        run.setdefault(parts[0], {})[parts[2]] = score
    return run
