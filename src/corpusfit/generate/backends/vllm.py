"""vLLM backend: offline batched generation (optional extra ``corpusfit[vllm]``)."""

from __future__ import annotations

from corpusfit.errors import ConfigError
from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.config import BackendConfig, SamplingConfig


class VllmBackend:
    """Runs a model folder or hub id with ``vllm.LLM.chat`` (the model's chat template)."""

    name = "vllm"

    def __init__(self, config: BackendConfig):
        try:
            from vllm import LLM
        except ImportError as e:
            raise ConfigError("backend 'vllm' needs vllm (pip install 'corpusfit[vllm]')") from e
        if not config.model:
            raise ConfigError("backend 'vllm' needs a model (folder or hub id)")
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
