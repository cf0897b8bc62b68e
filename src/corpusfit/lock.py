"""One writer per run directory: an OS lock held while a command writes there.

``flock`` on ``<dir>/.lock``: the kernel releases it when the holder exits in any way
(``kill -9`` too), so a lock left by a dead process never blocks. The file holds the
holder's pid and command line, for the message the second writer gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from corpusfit.errors import CorpusfitError

LOCK = ".lock"


class RunDirLocked(CorpusfitError):
    """Another process writes into the directory; the CLI exits 2."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
        return f"pid {info['pid']}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "pid unknown"  # the holder has not written its pid yet


@contextmanager
def run_dir_lock(folder: str | os.PathLike, command: str | None = None) -> Iterator[Path]:
    """Hold the lock of ``folder`` (created if missing) or raise :class:`RunDirLocked`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CorpusfitError(f"{folder} is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirLocked(f"{folder} is in use by another corpusfit process "
                               f"({_holder(path)}); wait for it to finish or stop it") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(),
                                 "command": command or " ".join(sys.argv)}).encode())
        yield path
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def output_locks(out: str | os.PathLike | None) -> Iterator[None]:
    """A stage command's locks: its output folder, and the run directory around it when
    ``out`` is a stage folder of a run (so a stage command never writes beside a run).

    Under ``torchrun`` the processes of one command write together: rank 0 holds the
    lock for all of them (a second command still meets it).
    """
    with ExitStack() as stack:
        if out is not None and int(os.environ.get("RANK", "0") or 0) == 0:
            out = Path(out)
            if (out.parent / LOCK).exists():
                stack.enter_context(run_dir_lock(out.parent))
            stack.enter_context(run_dir_lock(out))
        yield
