"""Ids and id files: the one reader of files that list passage ids.

Ids travel one per line (``sampled.txt``, ``heldout.txt``) and inside
whitespace-separated TREC files, so an id with a line break, another control
character or surrounding whitespace would be split or changed on the way: such
an id is an error where it is first read, naming file and line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container
from pathlib import Path

from corpusfit.errors import DataError
from corpusfit.reading import exists, iter_jsonl_numbered, read_lines

_BREAKING = {"Cc", "Zl", "Zp"}  # control characters, line and paragraph separators


def bad_id(value: str) -> str | None:
    """Why ``value`` cannot be an id, or None."""
    if not value.strip():
        return "is empty"
    if value != value.strip():
        return "has leading or trailing whitespace"
    for c in value:
        if unicodedata.category(c) in _BREAKING:
            return f"holds the control character {c!r}"
    return None


def check_id(path: str | Path, line: int | None, value: str, what: str = "id") -> str:
    """``value`` when it is a usable id, else a DataError naming file and line."""
    why = bad_id(value)
    if why:
        raise DataError(path, line, f"{what} {value!r} {why}")
    return value


def _id_lines(path: Path, comments: bool):
    if path.suffix == ".jsonl":  # ingest's duplicates.jsonl: {"_id", "duplicate_of"}
        for i, rec in iter_jsonl_numbered(path):
            value = rec.get("_id")
            if not isinstance(value, str):
                raise DataError(path, i, "expected a record with a string '_id'")
            yield i, value
        return
    for i, line in read_lines(path, "id file"):
        value = line.rstrip("\r\n")
        if not value.strip() or (comments and value.lstrip().startswith("#")):
            continue
        yield i, value


def read_id_file(path: str | Path, known: Container[str] | None = None, *,
                 comments: bool = False, what: str = "id file") -> list[str]:
    """The ids of a file, in file order: one per line (blank lines skipped; with
    ``comments``, ``#`` lines too), or for a ``.jsonl`` file the ``_id`` of each record.

    A malformed or repeated id, or (given ``known``) an id not in ``known``, is a
    DataError naming the line.
    """
    path = Path(path)
    if not exists(path):
        raise DataError(path, None, f"{what} not found")
    ids: dict[str, int] = {}
    for i, value in _id_lines(path, comments):
        doc_id = check_id(path, i, value.strip() if comments else value, "id")
        if doc_id in ids:
            raise DataError(path, i, f"duplicate id '{doc_id}' (first on line {ids[doc_id]})")
        if known is not None and doc_id not in known:
            raise DataError(path, i, f"unknown document id '{doc_id}'")
        ids[doc_id] = i
    return list(ids)
