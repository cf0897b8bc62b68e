"""Functions that tests run in a child process (spawn imports them by module name)."""

from __future__ import annotations

import os
import time


def add(a: int, b: int) -> dict:
    return {"sum": a + b, "pid": os.getpid()}


def die_on(signum: int) -> None:
    """Die the way a native crash does: the signal's default action, no Python exception."""
    os.kill(os.getpid(), signum)
    time.sleep(5)  # never reached: the signal ends the process


def fail(message: str) -> None:
    raise ValueError(message)


def nap(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def exit_quietly(code: int) -> None:
    os._exit(code)


def unpicklable_result():
    return lambda: None
