"""A stand-in for vllm in tests (the real one needs a GPU and is not installed here).

``LLM.chat`` answers each conversation with ``"<pid> <seed> <max_tokens> <words>"``
(words of the last user turn, so the templated cleaner-free tests can read them) and
appends the number of conversations of each call to ``$FAKE_VLLM_CALLS``. Model
``crash`` makes the process die on SIGSEGV in ``chat``, as a native crash would.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field


@dataclass
class SamplingParams:
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    seed: int | None = None
    stop: list[str] | None = None


@dataclass
class _Text:
    text: str


@dataclass
class _Output:
    outputs: list[_Text] = field(default_factory=list)


class LLM:
    def __init__(self, model: str, **options):
        self.model = model
        self.options = options

    def chat(self, conversations, params, use_tqdm=True, add_generation_prompt=False):
        if self.model.endswith("crash"):
            os.kill(os.getpid(), signal.SIGSEGV)
        calls = os.environ.get("FAKE_VLLM_CALLS")
        if calls:
            with open(calls, "a") as f:
                f.write(f"{len(conversations)}\n")
        out = []
        for messages, p in zip(conversations, params):
            assert add_generation_prompt
            words = messages[-1]["content"].split()[1:4]
            out.append(_Output([_Text(f"{os.getpid()} {p.seed} {p.max_tokens} "
                                      + " ".join(words))]))
        return out
