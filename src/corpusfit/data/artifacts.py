"""Schemas of the artifacts that stages exchange, validated on both sides.

Every stage writes JSON lines of one of these records (:func:`write_artifact`); the
next stage reads them through :func:`load_artifact`, which names file and line on any
error. A query's text is ``query`` in every artifact (``queries.jsonl`` of older
versions called it ``text``; such files still read).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from corpusfit.data.ids import check_id
from corpusfit.errors import DataError, describe_validation
from corpusfit.numbers import FiniteFloat
from corpusfit.workspace import iter_jsonl_numbered, write_jsonl


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class QueryRecord(_Record):
    """The fields that name a synthetic query; every per-query artifact starts with them."""

    qid: str
    query: str
    type: str
    source_id: str


class SyntheticQuery(QueryRecord):
    """One accepted query of ``queries.jsonl`` (generate stage)."""

    # Older versions wrote the query as ``text``: their run directories still read.
    query: str = Field(validation_alias=AliasChoices("query", "text"))
    model: str = ""
    backend: str = ""
    attempts: int = Field(1, ge=1, description="generations it took")


class RejectedQuery(_Record):
    """One line of ``rejected.jsonl``: the raw output and why it was rejected."""

    source_id: str
    type: str
    reason: str
    raw: str
    model: str = ""
    backend: str = ""
    attempts: int = Field(1, ge=1, description="generations tried")


class Candidates(QueryRecord):
    """One line of ``candidates.jsonl`` (mine stage): the fused list of one query.

    ``ranks`` maps retriever name -> rank (1-based) of each doc in ``doc_ids``
    for that retriever, or null where that retriever did not return it.
    """

    doc_ids: list[str]
    rrf_scores: list[FiniteFloat]
    ranks: dict[str, list[int | None]]


class TrainingList(QueryRecord):
    """One line of ``lists.jsonl`` (label stage): a query's teacher-scored list.

    ``doc_ids`` are sorted by teacher score, best first (the label stage sorts and cuts
    them once, to ``label.list_size``; training takes them as they are); ``scores`` are
    the normalized scores in [0, 1]; ``raw_scores`` the teacher's own.
    """

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
        if len(set(self.doc_ids)) != len(self.doc_ids):
            raise ValueError(f"query {self.qid}: a doc id occurs twice in its list")
        if any(a < b for a, b in zip(self.scores, self.scores[1:])):
            raise ValueError(f"query {self.qid}: doc_ids are not in teacher order (scores "
                             "must not increase)")
        return self


@dataclass(frozen=True)
class Artifact:
    """One thing a stage writes into its folder and later stages (or the report) read.

    Attributes:
        name: the key in :data:`ARTIFACTS` (``lists``).
        file: its file (or folder: the trained model, ``model``) inside the producing
            stage's folder (``lists.jsonl``).
        record: the record class of each JSON line, or None for other files.
        stage: the stage that writes it (``label``).
        schema: version of its meaning; raising it reruns the producing stage (and so
            everything after it) on existing run directories. Never tied to a release.
        required: the producing stage is not done without it.
    """

    name: str
    file: str
    record: type[BaseModel] | None
    stage: str
    schema: int = 1
    required: bool = True


def _table(*rows: Artifact) -> dict[str, Artifact]:
    return {a.name: a for a in rows}


ARTIFACTS: dict[str, Artifact] = _table(
    Artifact("corpus", "corpus.jsonl", None, "ingest"),
    Artifact("duplicates", "duplicates.jsonl", None, "ingest"),
    Artifact("heldout", "heldout.txt", None, "ingest"),
    Artifact("sampled", "sampled.txt", None, "ingest"),
    # In the probe folder (02-generate-probe, corpusfit.stages.probe) beside its queries.
    Artifact("probe", "probe.txt", None, "generate"),
    Artifact("queries", "queries.jsonl", SyntheticQuery, "generate"),
    Artifact("rejected", "rejected.jsonl", RejectedQuery, "generate", required=False),
    Artifact("candidates", "candidates.jsonl", Candidates, "mine"),
    Artifact("lists", "lists.jsonl", TrainingList, "label"),
    Artifact("model", "model", None, "train"),  # a folder beside the stage records
    Artifact("metrics", "metrics.json", None, "evaluate"),
    Artifact("per_query", "per_query.json", None, "evaluate", required=False),
    Artifact("agreement", "agreement.json", None, "evaluate", required=False),
    # In 06-evaluate-labelfree (corpusfit.evaluate.labelfree).
    Artifact("labelfree", "labelfree.json", None, "evaluate"),
    Artifact("report_md", "report.md", None, "report"),
    Artifact("report_html", "report.html", None, "report"),
)
"""Every artifact of a run directory: the one place its file name and record class live."""


def artifact_file(name: str) -> str:
    """The file name of artifact ``name`` (``lists`` -> ``lists.jsonl``)."""
    return ARTIFACTS[name].file


R = TypeVar("R", bound=_Record)


def validate_record(path: str | Path, line: int, raw: dict, record: type[R]) -> R:
    """``raw`` as a ``record``; a bad field or a malformed id is a DataError at file:line."""
    try:
        rec = record.model_validate(raw)
    except ValidationError as e:
        reason = f"invalid {record.__name__}: {describe_validation(e, limit=1)}"
        raise DataError(path, line, reason) from None
    for key in ("qid", "source_id"):
        if key in record.model_fields:
            check_id(path, line, getattr(rec, key), f"'{key}'")
    return rec


def iter_artifact(path: str | Path, record: type[R]) -> Iterator[R]:
    """Yield validated records (:func:`validate_record`); a repeated ``qid`` is a DataError."""
    first: dict[str, int] = {}
    for line_no, raw in iter_jsonl_numbered(path):
        rec = validate_record(path, line_no, raw, record)
        qid = getattr(rec, "qid", None)
        if isinstance(qid, str) and "qid" in record.model_fields:
            if qid in first:
                raise DataError(path, line_no, f"duplicate qid '{qid}' (first on line "
                                               f"{first[qid]})")
            first[qid] = line_no
        yield rec


def load_artifact(path: str | Path, record: type[R]) -> list[R]:
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, "artifact not found (has the previous stage run?)")
    return list(iter_artifact(path, record))


def write_artifact(path: str | Path, records: Iterable[_Record]) -> int:
    """Write records as JSON lines, atomically; the one way stages write artifacts."""
    return write_jsonl(path, (r.model_dump(mode="json") for r in records))
