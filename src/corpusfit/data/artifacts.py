"""Schemas of the artifacts that stages exchange, validated on load.

Every stage writes JSON lines of one of these records; the next stage reads
them through :func:`load_artifact`, which names file and line on any error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from corpusfit.errors import DataError, describe_validation
from corpusfit.numbers import FiniteFloat
from corpusfit.workspace import iter_jsonl_numbered


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class SyntheticQuery(_Record):
    """One accepted query of ``queries.jsonl`` (generate stage)."""

    qid: str
    text: str
    type: str
    source_id: str
    model: str = ""
    backend: str = ""


class RejectedQuery(_Record):
    """One line of ``rejected.jsonl``: the raw output and why it was rejected."""

    source_id: str
    type: str
    reason: str
    raw: str
    model: str = ""
    backend: str = ""


class Candidates(_Record):
    """One line of ``candidates.jsonl`` (mine stage): the fused list of one query.

    ``ranks`` maps retriever name -> rank (1-based) of each doc in ``doc_ids``
    for that retriever, or null where that retriever did not return it.
    """

    qid: str
    query: str
    type: str
    source_id: str
    doc_ids: list[str]
    rrf_scores: list[FiniteFloat]
    ranks: dict[str, list[int | None]]


class TrainingList(_Record):
    """One line of ``lists.jsonl`` (label stage): a query's teacher-scored list.

    ``doc_ids`` are sorted by teacher score, best first; ``scores`` are the
    normalized scores in [0, 1]; ``raw_scores`` the teacher's own.
    """

    qid: str
    query: str
    type: str
    source_id: str
    doc_ids: list[str]
    scores: list[FiniteFloat]
    raw_scores: list[FiniteFloat]
    split: str

    @model_validator(mode="after")
    def _same_lengths(self) -> TrainingList:
        if not (len(self.doc_ids) == len(self.scores) == len(self.raw_scores)):
            raise ValueError("doc_ids, scores and raw_scores differ in length")
        if not self.doc_ids:
            raise ValueError("empty list")
        if self.split not in {"train", "dev"}:
            raise ValueError(f"split must be 'train' or 'dev', got {self.split!r}")
        return self


R = TypeVar("R", bound=_Record)


def iter_artifact(path: str | Path, record: type[R]) -> Iterator[R]:
    """Yield validated records; a bad record raises DataError naming file and line."""
    for line_no, raw in iter_jsonl_numbered(path):
        try:
            yield record.model_validate(raw)
        except ValidationError as e:
            reason = f"invalid {record.__name__}: {describe_validation(e, limit=1)}"
            raise DataError(path, line_no, reason) from None


def load_artifact(path: str | Path, record: type[R]) -> list[R]:
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, "artifact not found (has the previous stage run?)")
    return list(iter_artifact(path, record))
