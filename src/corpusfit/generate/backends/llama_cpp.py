"""llama-cpp-python backend: a local GGUF file, by default a bundled model.

Two ways to decode (``backend.decode``):

- ``batched`` (default): the requests of a call are decoded together in one llama.cpp
  context (:mod:`corpusfit.generate.backends.llama_batch`): the prefix shared by all of
  them (the few-shot block) and by each passage's types is evaluated once, then every
  sequence advances one token per step in one batch, each sampled with its own seed;
- ``sequential``: one ``create_chat_completion`` after another, each reusing the prefix it
  shares with the previous prompt.

Both render the chat template stored in the GGUF file (generation prompt added) through
the same chat handler, sample with the same chain and stop at the model's end-of-turn
token, the stop strings or the token budget.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.config import DEFAULT_GGUF, BackendConfig, SamplingConfig

logger = logging.getLogger(__name__)


class LlamaCppBackend:
    """Runs a GGUF model with llama.cpp; ``generate`` takes any number of requests."""

    name = "llama-cpp"

    @staticmethod
    def batch_size_for(config: BackendConfig) -> int:
        """Pairs per call: ``parallel`` sequences when batched, else 10 (the flush size)."""
        return config.parallel if config.decode == "batched" else 10

    def __init__(self, config: BackendConfig):
        from corpusfit.models import resolve_gguf
        from corpusfit.native import load_llama_cpp

        lib = load_llama_cpp()
        path = resolve_gguf(config.model or DEFAULT_GGUF)
        self.model_name = Path(path).stem
        # llama.cpp's own default (half the logical CPUs, i.e. the physical cores) unless set:
        # oversubscribed threads make its lock-step kernels crawl on a busy machine.
        threads = config.n_threads or max(1, (os.cpu_count() or 2) // 2)
        batched = config.decode == "batched"
        # The batched path decodes in its own context; the Llama's then only needs to exist.
        self._llm = lib.Llama(model_path=str(path), n_ctx=256 if batched else config.n_ctx,
                              n_threads=threads, n_threads_batch=threads, verbose=False,
                              **config.options)
        if "tokenizer.chat_template" not in self._llm.metadata:
            logger.warning("%s has no chat template; llama.cpp falls back to a generic one", path)
        self._decoder = None
        self.batch_size = self.batch_size_for(config)
        if batched:
            from corpusfit.generate.backends.llama_batch import BatchDecoder

            self._decoder = BatchDecoder(lib, self._llm, n_seq=config.parallel,
                                         n_ctx=config.n_ctx, threads=threads)

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        if self._decoder is None:
            return [self._one(r, sampling) for r in requests]
        return self._batched(requests, sampling)

    def _one(self, request: Request, sampling: SamplingConfig) -> Completion:
        try:
            out = self._llm.create_chat_completion(
                request.messages, temperature=sampling.temperature, top_p=sampling.top_p,
                max_tokens=request.token_budget(sampling), stop=sampling.stop or None,
                seed=request.seed)
        except ValueError as e:  # e.g. the prompt exceeds the context window
            return Completion(None, error=f"llama.cpp: {e}")
        return Completion(out["choices"][0]["message"]["content"] or "")

    def _batched(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        from corpusfit.generate.backends.llama_batch import DecodeError, Prompt
        from corpusfit.generate.backends.llama_render import render_chat

        prompts: dict[int, Prompt] = {}
        errors: dict[int, str] = {}
        for i, r in enumerate(requests):
            try:
                tokens, stop = render_chat(self._llm, r.messages, sampling.stop)
            except Exception as e:  # noqa: BLE001 - a template error fails this request only
                errors[i] = f"llama.cpp: chat template: {e}"
                continue
            prompts[i] = Prompt(tokens, r.seed, r.token_budget(sampling), sampling.temperature,
                                sampling.top_p, stop, group=r.source_id)
        texts = dict(zip(prompts, self._decoder.run(list(prompts.values()))))
        out = []
        for i in range(len(requests)):
            text = texts.get(i)
            if isinstance(text, str):
                out.append(Completion(text))
            else:
                error = errors.get(i) or f"llama.cpp: {text}"
                out.append(Completion(None, error=error))
                if isinstance(text, DecodeError):
                    logger.warning("llama.cpp: %s/%s: %s", requests[i].source_id,
                                   requests[i].type, text)
        return out

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
        self._llm.close()
