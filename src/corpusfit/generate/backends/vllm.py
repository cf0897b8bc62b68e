"""vLLM backend: offline batched generation (optional extra ``corpusfit[vllm]``).

vLLM runs in a child process (:class:`~corpusfit.generate.backends.child.ChildBackend`):
when the generate stage closes the backend the process exits and the GPU memory it held
is free for the stages after it. Every pending pair goes to vLLM in one call
(``batch_size`` None), which schedules them itself (continuous batching, prefix caching).
"""

from __future__ import annotations

import importlib.util

from corpusfit.errors import ConfigError
from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.backends.child import ChildBackend
from corpusfit.generate.config import BackendConfig, SamplingConfig


def _check(config: BackendConfig) -> None:
    if importlib.util.find_spec("vllm") is None:
        raise ConfigError("backend 'vllm' needs vllm (pip install 'corpusfit[vllm]')")
    if not config.model:
        raise ConfigError("backend 'vllm' needs a model (folder or hub id)")


class VllmEngine:
    """``vllm.LLM.chat`` in this process (the model's chat template, generation prompt)."""

    name = "vllm"
    batch_size = None  # all pending pairs in one call

    def __init__(self, config: BackendConfig):
        _check(config)
        from vllm import LLM

        from corpusfit.models import resolve_model

        self.model_name = config.model
        self._llm = LLM(model=resolve_model(config.model), **config.options)

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        from vllm import SamplingParams

        params = [SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p,
                                 max_tokens=r.token_budget(sampling), seed=r.seed,
                                 stop=sampling.stop or None)
                  for r in requests]
        outputs = self._llm.chat([r.messages for r in requests], params, use_tqdm=False,
                                 add_generation_prompt=True)
        return [Completion(o.outputs[0].text if o.outputs else "") for o in outputs]

    def close(self) -> None:
        self._llm = None


class VllmBackend(ChildBackend):
    """:class:`VllmEngine` in a child process whose exit frees the GPU."""

    @staticmethod
    def batch_size_for(config: BackendConfig) -> None:
        """All pending pairs in one call (vLLM schedules them itself)."""
        return None

    def __init__(self, config: BackendConfig):
        _check(config)  # fail here, before a process starts
        super().__init__(f"{__name__}:VllmEngine", config, what=f"vllm ({config.model})")
