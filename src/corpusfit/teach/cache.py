"""Teacher score cache keyed by (teacher id, query text, doc id).

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


def _records(path: Path):
    """((query hash, doc id), score) of a shard file; a malformed record names its line."""
    for i, rec in iter_jsonl_numbered(path, appended=True):
        q, d, score = rec.get("q"), rec.get("d"), rec.get("s")
        if not (isinstance(q, str) and isinstance(d, str) and isinstance(score, int | float)
                and not isinstance(score, bool) and math.isfinite(score)):
            raise DataError(path, i, 'expected a score record {"q": str, "d": str, '
                                     '"s": finite number}')
        yield (q, d), float(score)


class ScoreCache:
    """The cached scores of one teacher; reads every shard, appends to its own."""

    def __init__(self, root: str | os.PathLike, teacher_id: str,
                 shard: tuple[int, int] | None = None):
        self.dir = Path(root) / teacher_id
        self.teacher_id = teacher_id
        self._own = self.dir / shard_name(shard)
        self._scores: dict[tuple[str, str], float] = {}
        self._appender: JsonlAppender | None = None
        self._load()

    @staticmethod
    def key(query: str, doc_id: str) -> tuple[str, str]:
        # The query's hash stands for its text: same key, far smaller files.
        return text_sha1(query), doc_id

    def _load(self) -> None:
        if not self.dir.exists():
            return
        for path in sorted(self.dir.glob("*.jsonl")):
            for key, score in _records(path):
                self._scores[key] = score
        logger.info("score cache %s: %d cached pairs", self.dir, len(self._scores))

    def __len__(self) -> int:
        return len(self._scores)

    def get(self, query: str, doc_id: str) -> float | None:
        return self._scores.get(self.key(query, doc_id))

    def put(self, query: str, doc_id: str, score: float) -> None:
        """Remember a score; it reaches disk at the next :meth:`flush`."""
        if not math.isfinite(score):
            raise ValueError(f"teacher returned a non-finite score {score} for doc {doc_id}")
        k = self.key(query, doc_id)
        if k in self._scores:
            return
        self._scores[k] = float(score)
        if self._appender is None:
            self._appender = JsonlAppender(self._own)
        self._appender.add({"q": k[0], "d": doc_id, "s": float(score)})

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
    merged: dict[tuple[str, str], float] = {}
    parts = sorted(target.glob("*.jsonl"))
    for path in parts:
        for key, score in _records(path):
            merged[key] = score
    write_jsonl(target / MERGED, ({"q": q, "d": d, "s": s} for (q, d), s in merged.items()))
    for path in parts:
        if path.name != MERGED:
            path.unlink()
    logger.info("merged %d shard files into %s (%d pairs)", len(parts), target / MERGED,
                len(merged))
    return len(merged)
