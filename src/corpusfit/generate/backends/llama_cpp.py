"""llama-cpp-python backend: a local GGUF file, by default a bundled model."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.config import DEFAULT_GGUF, BackendConfig, SamplingConfig

logger = logging.getLogger(__name__)


class LlamaCppBackend:
    """Runs a GGUF model with llama.cpp.

    ``create_chat_completion`` renders the chat template stored in the GGUF file
    (with the generation prompt added) and stops at the model's end-of-turn token.
    """

    name = "llama-cpp"

    def __init__(self, config: BackendConfig):
        from corpusfit.models import resolve_gguf
        from corpusfit.native import load_llama_cpp

        Llama = load_llama_cpp().Llama  # noqa: N806 - the class, chosen CPU kernels loaded

        path = resolve_gguf(config.model or DEFAULT_GGUF)
        self.model_name = Path(path).stem
        # llama.cpp's own default (half the logical CPUs, i.e. the physical cores) unless set:
        # oversubscribed threads make its lock-step kernels crawl on a busy machine.
        threads = config.n_threads or max(1, (os.cpu_count() or 2) // 2)
        self._llm = Llama(model_path=str(path), n_ctx=config.n_ctx, n_threads=threads,
                          n_threads_batch=threads, verbose=False, **config.options)
        if "tokenizer.chat_template" not in self._llm.metadata:
            logger.warning("%s has no chat template; llama.cpp falls back to a generic one", path)

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        return [self._one(r, sampling) for r in requests]

    def _one(self, request: Request, sampling: SamplingConfig) -> Completion:
        try:
            out = self._llm.create_chat_completion(
                request.messages, temperature=sampling.temperature, top_p=sampling.top_p,
                max_tokens=request.token_budget(sampling), stop=sampling.stop or None,
                seed=request.seed)
        except ValueError as e:  # e.g. the prompt exceeds the context window
            return Completion(None, error=f"llama.cpp: {e}")
        return Completion(out["choices"][0]["message"]["content"] or "")

    def close(self) -> None:
        self._llm.close()
