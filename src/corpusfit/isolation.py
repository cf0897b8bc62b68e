"""Run one function in a child process, so a crash in native code names itself.

A segfault in llama.cpp (or torch) kills the whole Python process: no exception, no
cleanup, a test run or pipeline gone with ``Segmentation fault``. :func:`run_in_child`
runs a picklable module-level function in a fresh ``spawn`` process (never ``fork``:
torch's and OpenMP's thread state is not fork-safe) and turns every way it can end into
a value or a :class:`~corpusfit.errors.CorpusfitError` that says what happened:

- it returned: the (picklable) value comes back;
- it raised: :class:`~corpusfit.errors.ChildError` with the exception's type and message;
- it died on a signal: :class:`~corpusfit.errors.NativeCrash` naming the signal, its
  likely cause and the fix; ``faulthandler`` prints the Python stack to stderr first;
- it ran past ``timeout``: the child is killed and :class:`~corpusfit.errors.ChildTimeout`.

The child gets the parent's ``sys.path`` and environment, so functions in modules the
parent can import (including test helper modules) work.
"""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing
import signal
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from corpusfit.errors import ChildError, ChildTimeout, CorpusfitError, NativeCrash

logger = logging.getLogger(__name__)

T = TypeVar("T")

NATIVE_FIX = ("reinstall with `make install`, which builds llama.cpp portably with runtime "
              "CPU dispatch; `CORPUSFIT_GGML_CPU=haswell` forces its AVX2 kernels; see the "
              "README's troubleshooting section")
_CRASH = ("a crash inside native code; with llama.cpp most often a CPU kernel variant that "
          "misbehaves on this CPU (e.g. the AMX kernels of recent Intel Xeons)")
CAUSES = {
    "SIGILL": "the native library executed an instruction this CPU lacks, typically a "
              "llama.cpp wheel compiled for another machine's CPU (pip's cache does not key "
              "wheels by CPU)",
    "SIGSEGV": _CRASH,
    "SIGBUS": _CRASH,
    "SIGFPE": "an arithmetic fault inside native code, e.g. a CPU kernel variant that does "
              "not match this CPU",
    "SIGABRT": "native code aborted: a failed assertion in llama.cpp/ggml or torch, or "
               "memory exhausted",
    "SIGKILL": "killed from outside, most often by the kernel's out-of-memory killer",
}
# Seconds a child that already sent its result may take to exit before it is killed.
_EXIT_GRACE = 10.0


def describe_signal(signum: int) -> tuple[str, str, str]:
    """(signal name, likely cause, fix) of a child that died on signal ``signum``."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    cause = CAUSES.get(name, f"the process was ended by {name}")
    fix = ("free memory, or use a smaller model or fewer threads" if name == "SIGKILL"
           else NATIVE_FIX)
    return name, cause, fix


def _child_main(conn: Connection, fn: Callable[..., Any], args: tuple, log_level: int) -> None:
    """Entry point of the child: run ``fn(*args)`` and send ``(status, payload)`` back."""
    faulthandler.enable()  # a native crash prints the Python stack to stderr
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    try:
        try:
            message = ("ok", fn(*args))
        except BaseException as e:  # noqa: BLE001 - everything goes back to the parent
            message = ("error", (type(e).__name__, str(e), traceback.format_exc()))
        try:
            conn.send(message)
        except Exception as e:  # noqa: BLE001 - e.g. an unpicklable return value
            conn.send(("error", (type(e).__name__, f"cannot send the result back: {e}",
                                 traceback.format_exc())))
    finally:
        conn.close()


def run_in_child(fn: Callable[..., T], *args: Any, what: str,
                 timeout: float | None = None) -> T:
    """Run ``fn(*args)`` in a fresh ``spawn`` child process and return its value.

    Args:
        fn: a module-level function (the child imports it by name); its arguments and
            return value must be picklable.
        *args: positional arguments of ``fn``.
        what: what runs, for messages, e.g. ``"llama-cpp generator (qwen2.5-coder-0.5b)"``.
        timeout: seconds before the child is killed (``None``: no limit).

    Returns:
        What ``fn`` returned.

    Raises:
        NativeCrash: the child died on a signal (SIGSEGV, SIGILL, ...).
        ChildError: ``fn`` raised, or the child exited without a result.
        ChildTimeout: the child ran past ``timeout`` and was killed.
    """
    ctx = multiprocessing.get_context("spawn")
    reader, writer = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, name=f"corpusfit child: {what}", daemon=True,
                       args=(writer, fn, args, logging.getLogger().getEffectiveLevel()))
    logger.debug("running %s in a child process", what)
    proc.start()
    writer.close()  # the child holds the only write end, so its death ends the pipe
    try:
        message = _await(reader, proc, timeout)
        if message is None:
            proc.kill()
            proc.join()
            raise ChildTimeout(f"{what}: no result after {timeout:g} s; the child process "
                               "was killed")
        proc.join(_EXIT_GRACE)
    finally:
        reader.close()
        if proc.is_alive():
            proc.kill()
            proc.join()
    return _outcome(message, proc.exitcode, what)


def _await(reader: Connection, proc: Any, timeout: float | None) -> tuple | None:
    """The child's message, ``("died", None)`` when it ended without one, None on timeout."""
    ready = wait([reader, proc.sentinel], timeout)
    if not ready:
        return None
    if reader in ready or reader.poll():
        try:
            return reader.recv()
        except EOFError:
            pass
    proc.join()
    return ("died", None)


def _outcome(message: tuple, exitcode: int | None, what: str) -> Any:
    status, payload = message
    if status == "ok":
        if exitcode:
            logger.warning("%s: the child exited with code %s after returning", what, exitcode)
        return payload
    if status == "error":
        type_name, text, tb = payload
        raise ChildError(what, type_name, text, tb)
    if exitcode is not None and exitcode < 0:
        raise NativeCrash(what, *describe_signal(-exitcode))
    raise CorpusfitError(f"{what}: the child process exited with code {exitcode} "
                         "without a result")
