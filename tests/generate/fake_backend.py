"""A fast templated backend for tests, loaded through the ``module:Class`` backend path.

It writes a well-formed query of each built-in type from the passage's words, so
tests exercise the whole stage without an LLM. ``FAKE_BACKEND_DELAY`` (seconds per
request) slows it down so a test can kill a run mid-way. ``SegfaultBackend`` crashes
like a native library, for the isolation tests of ``corpusfit doctor``.
"""

from __future__ import annotations

import os
import signal
import time

from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.config import BackendConfig, SamplingConfig


def templated_query(request: Request) -> str:
    ws = [w.strip(".,;:?!") for w in request.passage.split()]
    ws = [w for w in ws if w] or ["nothing"]
    a, b, c = (ws * 3)[:3]
    # The seed makes outputs of different passages differ, as a sampler would.
    tag = f"n{request.seed % 997}"
    return {
        "question": f"what is known about {a} {b} {tag}?",
        "claim": f"{a} relates to {b} and {c} {tag}.",
        "keywords": f"{a}, {b}, {c}, {tag}",
        "title": f"On {a} and {b} {tag}",
        "natural": f"{a} {b} {tag}",
    }.get(request.type, f"{request.type} {a} {b} {tag}")


class TemplatedBackend:
    name = "fake-templated"

    def __init__(self, config: BackendConfig):
        self.model_name = config.model or "templated"
        self.delay = float(os.environ.get("FAKE_BACKEND_DELAY", "0"))
        self.calls = 0

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        out = []
        for r in requests:
            self.calls += 1
            if self.delay:
                time.sleep(self.delay)
            out.append(Completion(templated_query(r)))
        return out

    def close(self) -> None:
        pass


class SegfaultBackend(TemplatedBackend):
    """Dies on SIGSEGV when asked to generate, as a crashing native library would.

    Only for code that runs the backend in a child process (``corpusfit doctor``):
    in the test process itself it would end the whole run.
    """

    name = "fake-segfault"

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        os.kill(os.getpid(), signal.SIGSEGV)
        return []


class RecordingBackend(TemplatedBackend):
    """The templated backend that keeps every request it was sent (in ``SEEN``)."""

    name = "fake-recording"
    SEEN: list[Request] = []

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        RecordingBackend.SEEN.extend(requests)
        return super().generate(requests, sampling)
