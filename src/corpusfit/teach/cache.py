"""Teacher score cache keyed by (teacher id, query text, doc id, doc text).

A record names the passage by id and by a hash of its text (``h``), so a passage edited
under the same id is scored again; records written before the hash existed (no ``h``)
are trusted for their id, so earlier caches keep their scores.

Scores live under ``root/<teacher id>/`` as JSON-lines shard files that are
only ever appended to (``JsonlAppender``: flushed, fsynced, torn tail
repaired), so a crash loses at most the last unflushed batch and a rerun —
or another experiment with the same teacher — never rescores a pair. Each
``--shard i/n`` process writes its own file, so slices can run on different
machines; copying the files into one folder (or :func:`merge_cache`) joins them.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from pathlib import Path

from corpusfit.errors import DataError
from corpusfit.workspace import JsonlAppender, iter_jsonl_numbered, text_sha1, write_jsonl

logger = logging.getLogger(__name__)

MERGED = "merged.jsonl"


def shard_name(shard: tuple[int, int] | None) -> str:
    """File name of a slice's scores: ``shard-i-of-n.jsonl`` or ``main.jsonl``."""
    return "main.jsonl" if shard is None else f"shard-{shard[0]}-of-{shard[1]}.jsonl"


Key = tuple[str, str, str]  # (query hash, doc id, doc text hash or "" in older records)


def text_key(text: str | None) -> str:
    """The short hash that names a passage's text in a record ("" when unknown)."""
    return "" if text is None else text_sha1(text)[:16]


def _records(path: Path):
    """((query hash, doc id, text hash), score) of a shard file; a malformed record names
    its line."""
    for i, rec in iter_jsonl_numbered(path, appended=True):
        q, d, score, h = rec.get("q"), rec.get("d"), rec.get("s"), rec.get("h", "")
        if not (isinstance(q, str) and isinstance(d, str) and isinstance(h, str)
                and isinstance(score, int | float) and not isinstance(score, bool)
                and math.isfinite(score)):
            raise DataError(path, i, 'expected a score record {"q": str, "d": str, '
                                     '"s": finite number[, "h": str]}')
        yield (q, d, h), float(score)


def _record(key: Key, score: float) -> dict:
    q, d, h = key
    return {"q": q, "d": d, "s": score, **({"h": h} if h else {})}


class ScoreCache:
    """The cached scores of one teacher; reads every shard, appends to its own."""

    def __init__(self, root: str | os.PathLike, teacher_id: str,
                 shard: tuple[int, int] | None = None):
        self.dir = Path(root) / teacher_id
        self.teacher_id = teacher_id
        self._own = self.dir / shard_name(shard)
        self._scores: dict[Key, float] = {}
        self._appender: JsonlAppender | None = None
        self._load()

    @staticmethod
    def key(query: str, doc_id: str, text: str | None = None) -> Key:
        # The query's hash stands for its text: same key, far smaller files.
        return text_sha1(query), doc_id, text_key(text)

    def _load(self) -> None:
        if not self.dir.exists():
            return
        for path in sorted(self.dir.glob("*.jsonl")):
            for key, score in _records(path):
                self._scores[key] = score
        logger.info("score cache %s: %d cached pairs", self.dir, len(self._scores))

    def __len__(self) -> int:
        return len(self._scores)

    def get(self, query: str, doc_id: str, text: str | None = None) -> float | None:
        """The score of ``query`` and the passage ``doc_id`` whose text is ``text`` (an
        older record without a text hash answers for any text)."""
        q, d, h = self.key(query, doc_id, text)
        found = self._scores.get((q, d, h))
        return self._scores.get((q, d, "")) if found is None and h else found

    def put(self, query: str, doc_id: str, score: float, text: str | None = None) -> None:
        """Remember a score; it reaches disk at the next :meth:`flush`."""
        if not math.isfinite(score):
            raise ValueError(f"teacher returned a non-finite score {score} for doc {doc_id}")
        k = self.key(query, doc_id, text)
        if k in self._scores:
            return
        self._scores[k] = float(score)
        if self._appender is None:
            self._appender = JsonlAppender(self._own)
        self._appender.add(_record(k, float(score)))

    def flush(self) -> None:
        if self._appender is not None:
            self._appender.flush()

    def close(self) -> None:
        if self._appender is not None:
            self._appender.close()
            self._appender = None


def merge_cache(root: str | os.PathLike, teacher_id: str,
                sources: list[str | os.PathLike] = ()) -> int:
    """Join shard files (here and in ``sources`` cache roots) into one merged file.

    The merged file is written atomically before the shards it replaces are
    removed, so a crash in between only leaves harmless duplicates.

    Returns:
        The number of distinct cached pairs.
    """
    target = Path(root) / teacher_id
    target.mkdir(parents=True, exist_ok=True)
    for src in sources:
        src_dir = Path(src) / teacher_id
        for path in sorted(src_dir.glob("*.jsonl")) if src_dir.exists() else []:
            dest = target / f"from-{text_sha1(str(path.resolve()))[:8]}-{path.name}"
            shutil.copyfile(path, dest)
    merged: dict[Key, float] = {}
    parts = sorted(target.glob("*.jsonl"))
    for path in parts:
        for key, score in _records(path):
            merged[key] = score
    write_jsonl(target / MERGED, (_record(k, s) for k, s in merged.items()))
    for path in parts:
        if path.name != MERGED:
            path.unlink()
    logger.info("merged %d shard files into %s (%d pairs)", len(parts), target / MERGED,
                len(merged))
    return len(merged)
