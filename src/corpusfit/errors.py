"""Errors that the CLI turns into one readable message and exit code 2."""

from __future__ import annotations

from typing import Any


class CorpusfitError(Exception):
    """A user-facing error: bad input, bad config, missing model."""


class DataError(CorpusfitError):
    """A malformed input file. The message names the file, the line and the reason."""

    def __init__(self, path, line: int | None, reason: str):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class ConfigError(CorpusfitError):
    """A bad configuration value; the message names the key."""


class ChildError(CorpusfitError):
    """Work run in a child process raised; carries the child's exception type and message."""

    def __init__(self, what: str, type_name: str, message: str, child_traceback: str = ""):
        self.what = what
        self.type_name = type_name
        self.message = message
        self.child_traceback = child_traceback
        super().__init__(f"{what}: {type_name}: {message}")


class ChildTimeout(CorpusfitError):
    """Work run in a child process took longer than allowed; the child was killed."""


class NativeCrash(CorpusfitError):
    """A child process died on a signal (a crash in native code such as llama.cpp).

    The message names what was running, the signal, its likely cause and the fix.
    """

    def __init__(self, what: str, signal_name: str, cause: str, fix: str):
        self.what = what
        self.signal_name = signal_name
        self.cause = cause
        self.fix = fix
        super().__init__(f"{what} crashed: its process died on {signal_name}. "
                         f"Likely cause: {cause}. Fix: {fix}. (The Python stack at the crash "
                         "was printed to stderr.)")


def _key(loc: tuple, data: Any) -> list[str]:
    """The dotted key of an error location as the user wrote it.

    A discriminated union puts its tag into the location (``teacher.bm25.prompt``);
    with the raw input at hand, a segment that is only the tag of the mapping at that
    point (its ``kind`` or ``name``) is dropped: ``teacher.prompt``.
    """
    parts, node = [], data
    for x in loc:
        if isinstance(node, dict) and x not in node and x in (node.get("kind"), node.get("name")):
            continue
        parts.append(str(x))
        node = node.get(x) if isinstance(node, dict) else (
            node[x] if isinstance(node, list) and isinstance(x, int) and x < len(node) else None)
    return parts


def validation_problems(err: Any, prefix: str = "", data: Any = None) -> list[str]:
    """One plain line per problem of a pydantic ``ValidationError``, naming the dotted key.

    The one wording of a validation problem everywhere (config files, ``--set``,
    command-line flags, artifact lines), so every message reads the same. ``data``
    (the validated input) lets keys inside a discriminated union read as written.
    """
    lines = []
    for e in err.errors():
        key = ".".join([*([prefix] if prefix else []), *_key(e["loc"], data)]) or "(root)"
        if e["type"] == "extra_forbidden":
            lines.append(f"unknown key '{key}'")
        elif e["type"] == "missing":
            lines.append(f"missing required key '{key}'")
        else:
            got = e.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"bad value for '{key}': {msg}{shown}")
    return lines


def describe_validation(err: Any, prefix: str = "", limit: int = 6, data: Any = None) -> str:
    """The first problem, then up to ``limit - 1`` more as ``also:`` lines."""
    lines = validation_problems(err, prefix, data)
    more = [f"  also: {x}" for x in lines[1:limit]]
    if len(lines) > limit:
        more.append(f"  ... and {len(lines) - limit} more")
    return "\n".join([lines[0], *more])
