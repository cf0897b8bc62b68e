"""Checked readers: every file corpusfit reads goes through here.

Regular files only (a FIFO or a device such as /dev/zero would block a reader
forever, a directory or a dangling link fails deep inside one), UTF-8 checked
per line, JSON checked for shape, duplicate keys, nesting and lone surrogates.
Any problem is a :class:`DataError` naming file and line, never a traceback.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import stat
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpusfit.errors import DataError

logger = logging.getLogger(__name__)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "not a plain file"


def exists(path: str | os.PathLike) -> bool:
    """Whether anything (a dangling link too) is at ``path``; a path the system cannot
    look up (a name too long, a permission problem) is a DataError, not an OSError."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        raise DataError(path, None, f"cannot use this path ({e.strerror})") from None
    return True


def regular_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` when it is a regular file (or a link to one), else a DataError.

    Reading a FIFO or a device such as /dev/zero never ends, and a directory or a
    dangling link fails deep inside a reader: each is refused here, by name.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        why = "is a dangling symbolic link" if path.is_symlink() else "not found"
        raise DataError(path, None, f"{what} {why}") from None
    except OSError as e:
        raise DataError(path, None, f"cannot read {what} ({e.strerror})") from None
    if not stat.S_ISREG(mode):
        raise DataError(path, None, f"{what} is {_kind(mode)}, not a regular file")
    return path


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise DataError(path, None, f"cannot read ({e.strerror})") from None


def read_lines(path: str | os.PathLike, what: str = "file") -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-8 text file (gzip-compressed when its name ends in
    ``.gz``); a leading byte-order mark is dropped and undecodable bytes are a DataError
    naming the line."""
    path = regular_file(path, what)
    try:
        f = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")
    except OSError as e:
        raise DataError(path, None, f"cannot read {what} ({e.strerror})") from None
    with f:
        i = 0
        try:
            for i, raw in enumerate(f, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise DataError(path, i, f"not valid UTF-8 ({e.reason} at byte "
                                             f"{e.start})") from None
                yield i, line.removeprefix("\ufeff") if i == 1 else line
        except (gzip.BadGzipFile, EOFError, zlib.error) as e:
            raise DataError(path, i + 1, f"not a readable gzip file ({e})") from None


def read_text(path: str | os.PathLike, what: str = "file") -> str:
    """A whole UTF-8 text file (byte-order mark dropped); bad bytes name their line."""
    path = regular_file(path, what)
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError(path, line, f"not valid UTF-8 ({e.reason})") from None
    return text.removeprefix("\ufeff")


class _JsonProblem(ValueError):
    """A JSON text that parses but cannot be taken (duplicate key)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _JsonProblem(f"duplicate key '{key}' in a JSON object")
        out[key] = value
    return out


def _lone_surrogate(value: Any) -> str | None:
    """The first string holding a lone surrogate (``\\ud800``: not encodable as UTF-8)."""
    stack = [value]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if any("\ud800" <= c <= "\udfff" for c in x):
                return x
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return None


def parse_json(path: str | os.PathLike, line: int | None, text: str) -> Any:
    """JSON text of ``path`` (``line``: where it starts, None for a whole file), checked:
    malformed text, duplicate keys, nesting too deep for the parser, integers too long to
    convert and lone surrogates are each a DataError naming file and line."""
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as e:
        raise DataError(path, line or e.lineno,
                        f"malformed JSON ({e.msg}, column {e.colno})") from None
    except RecursionError:
        raise DataError(path, line, "JSON nested too deeply") from None
    except ValueError as e:  # a duplicate key, an integer of more than 4300 digits
        raise DataError(path, line, f"bad JSON ({e})") from None
    if "\\u" in text and _lone_surrogate(value) is not None:
        raise DataError(path, line, "a string holds a lone surrogate escape (e.g. \\ud800), "
                                    "which is not a character")
    return value


def read_json(path: str | os.PathLike, what: str = "file") -> Any:
    """A whole JSON file through :func:`parse_json`."""
    return parse_json(path, None, read_text(path, what))


def iter_jsonl_numbered(path: str | os.PathLike, *,
                        appended: bool = False) -> Iterator[tuple[int, dict]]:
    """Yield (line number, JSON object) of a JSON-lines file; nothing when it is missing.

    ``appended``: the file is only ever appended to (:class:`JsonlAppender`), so a
    crash can leave a torn last line (no newline): it is skipped with a warning.
    Anywhere else, and in a file written whole, a bad line is a DataError.
    """
    path = Path(path)
    if not exists(path):
        return
    for i, line in read_lines(path):
        if not line.strip():
            continue
        try:
            rec = parse_json(path, i, line)
        except DataError:
            if appended and not line.endswith("\n"):
                logger.warning("%s: ignoring torn last line %d (interrupted write)", path, i)
                return
            raise
        if not isinstance(rec, dict):
            raise DataError(path, i, f"expected a JSON object, got {type(rec).__name__}")
        yield i, rec


def iter_jsonl_tolerant(path: str | os.PathLike) -> Iterator[dict]:
    """Records of an append-only JSON-lines file (torn last line skipped)."""
    for _, rec in iter_jsonl_numbered(path, appended=True):
        yield rec
