"""Crash-safe file primitives shared by every stage.

Whole files are written to a temporary name and renamed (atomic on POSIX).
Long stages append JSON lines in small flushed batches; the reader of such an
append-only file skips a torn last line left by a crash, so a rerun continues
from the last complete record. A file written whole cannot tear: there a bad
last line is corruption, an error like any other.

Reading goes through :mod:`corpusfit.reading` (re-exported here).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from corpusfit.errors import DataError
from corpusfit.reading import (  # noqa: F401  (the readers, where callers import them)
    iter_jsonl_numbered,
    iter_jsonl_tolerant,
    parse_json,
    read_json,
    read_lines,
    read_text,
    regular_file,
)

logger = logging.getLogger(__name__)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write a text file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write pretty JSON."""
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> int:
    """Atomically write JSON lines; returns the number of records."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n


class JsonlAppender:
    """Append JSON records durably: each ``flush`` writes whole lines and fsyncs.

    On open, a torn last line (no trailing newline) is truncated away so that
    new records start on a fresh line.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        self._f = open(self.path, "a", encoding="utf-8")
        self._buffer: list[str] = []

    def _repair_tail(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb+") as f:
            data = f.read()
            if data.endswith(b"\n"):
                return
            cut = data.rfind(b"\n") + 1
            f.truncate(cut)
            logger.warning("%s: dropped a torn last line from an interrupted run", self.path)

    def add(self, record: dict) -> None:
        self._buffer.append(json.dumps(record, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        if not self._buffer:
            return
        self._f.write("".join(self._buffer))
        self._f.flush()
        os.fsync(self._f.fileno())
        self._buffer.clear()

    def close(self) -> None:
        self.flush()
        self._f.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(regular_file(path), "rb") as f:  # /dev/zero or a FIFO would never end
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def text_sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def config_hash(obj: Any) -> str:
    """Stable hash of a JSON-serialisable config."""
    blob = json.dumps(obj, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


MANIFEST = "manifest.json"
STATE_FILE = ".pipeline.json"  # a stage folder's state; see corpusfit.stages.base


def stage_fingerprint(config: Any, inputs: dict[str, str | os.PathLike],
                      schema: dict[str, int] | None = None) -> dict:
    """What makes a stage's output valid, by one rule for every stage.

    Args:
        config: the stage's recorded config without its runtime-only fields.
        inputs: name -> file or folder whose content the output depends on.
        schema: artifact name -> schema version of what the stage writes (a version
            changes only when an artifact's meaning changes).

    Returns:
        ``{"config_hash": ..., "inputs": {name: hash}, "schema": {...}}``. The package
        version is deliberately not part of it: an upgrade reruns nothing.
    """
    hashed = {}
    for name, p in sorted(inputs.items()):
        p = Path(p)
        if p.is_dir():
            hashed[name] = config_hash(sorted(
                (str(f.relative_to(p)), file_sha256(f)) for f in p.rglob("*")
                # the lock holds a pid, a model card is prose (the evaluate stage adds its
                # metrics to the card of a model it evaluates): neither is data
                if f.is_file() and f.name not in {".lock", "README.md"}))
        else:
            hashed[name] = file_sha256(p) if p.exists() else "missing"
    return {"config_hash": config_hash(config), "inputs": hashed, "schema": dict(schema or {})}


def fingerprint_matches(old: Any, new: dict, legacy_hashes: Iterable[str] = ()) -> bool:
    """True when a recorded fingerprint ``old`` stands for the same result as ``new``.

    Besides equality, the form 0.1.0 recorded is accepted: the package ``version`` in
    place of ``schema`` (every artifact then at schema 1) and a config hash that may be
    one of ``legacy_hashes`` (a stage that hashed its whole config then). Every other
    key must be equal.
    """
    if not isinstance(old, dict):
        return False
    if all(old.get(k) == v for k, v in new.items()):
        return True
    if "schema" in old or "version" not in old or any(v != 1 for v in
                                                      new.get("schema", {}).values()):
        return False
    accepted = {new.get("config_hash"), *legacy_hashes}
    return all(old.get(k) in accepted if k == "config_hash" else old.get(k) == v
               for k, v in new.items() if k != "schema")


def manifest_matches(stage_dir: str | os.PathLike, fingerprint: dict,
                     legacy_hashes: Iterable[str] = ()) -> bool:
    """True when the stage finished (manifest written last) with the same fingerprint
    (:func:`fingerprint_matches`)."""
    path = Path(stage_dir) / MANIFEST
    if not path.exists():
        return False
    try:
        old = read_json(path)
    except DataError:  # an unreadable manifest is no finished result
        return False
    return fingerprint_matches(old, fingerprint, legacy_hashes)


def write_manifest(stage_dir: str | os.PathLike, fingerprint: dict, config: Any,
                   counts: dict | None = None, timings: dict | None = None) -> None:
    """Write the manifest as a stage's last act (atomic); credentials in ``config`` masked."""
    from corpusfit.masking import mask_secrets

    write_json(Path(stage_dir) / MANIFEST, {**fingerprint, "config": mask_secrets(config),
                                            "counts": counts or {}, "timings": timings or {}})
