"""A generate backend for the lock tests' child processes: it waits for a go file.

Loaded as ``lock_children:WaitingBackend`` with this folder on PYTHONPATH, so a test
can hold a ``corpusfit run`` mid-stage, start a second writer, then let the first finish.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.config import BackendConfig, SamplingConfig


class WaitingBackend:
    name = "fake-waiting"

    def __init__(self, config: BackendConfig):
        self.model_name = "waiting"
        self.go = Path(os.environ["LOCK_TEST_GO"])

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        deadline = time.monotonic() + 300  # a hang guard only
        while not self.go.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return [Completion(f"what is said about {r.passage.split()[0]} {r.type} n{r.seed % 97}?")
                for r in requests]

    def close(self) -> None:
        pass
