"""transformers backend: a local causal or seq2seq model folder, or a GGUF file."""

from __future__ import annotations

import logging
from pathlib import Path

from corpusfit.errors import ConfigError
from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.config import DEFAULT_GGUF, BackendConfig, SamplingConfig
from corpusfit.generate.prompts import render_plain

logger = logging.getLogger(__name__)


def _locate(model: str) -> tuple[str, dict]:
    """(folder or hub id, extra from_pretrained kwargs); GGUF files load via ``gguf_file``."""
    from corpusfit.models import BUNDLED_GGUF, bundled_gguf, resolve_model

    if model.strip().lower() in BUNDLED_GGUF:
        path = bundled_gguf(model)
        return str(path.parent), {"gguf_file": path.name}
    if model.endswith(".gguf"):
        path = Path(model).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"GGUF file {path} not found")
        return str(path.parent), {"gguf_file": path.name}
    return resolve_model(model), {}


class TransformersBackend:
    """Batched sampling with ``model.generate``; the tokenizer's chat template when it has one."""

    name = "transformers"

    @staticmethod
    def batch_size_for(config: BackendConfig) -> int:
        """Pairs per call: the configured generation batch."""
        return config.batch_size

    def __init__(self, config: BackendConfig):
        import torch
        from transformers import (
            AutoConfig,
            AutoModelForCausalLM,
            AutoModelForSeq2SeqLM,
            AutoTokenizer,
        )

        source, kwargs = _locate(config.model or DEFAULT_GGUF)
        self.model_name = Path(kwargs.get("gguf_file", source)).stem if kwargs else source
        if config.n_threads:
            torch.set_num_threads(config.n_threads)
        self._seq2seq = bool(getattr(AutoConfig.from_pretrained(source, **kwargs),
                                     "is_encoder_decoder", False))
        self._tok = AutoTokenizer.from_pretrained(source, **kwargs)
        if not self._seq2seq:
            self._tok.padding_side = "left"  # new tokens must follow each prompt directly
        if self._tok.pad_token is None:
            self._tok.pad_token = self._tok.eos_token
        cls = AutoModelForSeq2SeqLM if self._seq2seq else AutoModelForCausalLM
        self._device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model = cls.from_pretrained(source, **kwargs, **config.options).to(self._device)
        self._model.eval()
        self._batch_size = self.batch_size = config.batch_size
        self._templated = bool(getattr(self._tok, "chat_template", None)) and not self._seq2seq
        if not self._templated:
            logger.warning("%s: no chat template, using a plain prompt", self.model_name)

    def _prompt(self, messages: list[dict[str, str]]) -> str:
        if self._templated:
            return self._tok.apply_chat_template(messages, tokenize=False,
                                                 add_generation_prompt=True)
        return render_plain(messages)

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        out: list[Completion] = []
        for i in range(0, len(requests), self._batch_size):
            out.extend(self._batch(requests[i:i + self._batch_size], sampling))
        return out

    def _batch(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        import torch

        prompts = [self._prompt(r.messages) for r in requests]
        # The template already holds BOS and special tokens; do not add them twice.
        enc = self._tok(prompts, return_tensors="pt", padding=True,
                        add_special_tokens=not self._templated).to(self._device)
        torch.manual_seed(requests[0].seed)  # one seed per batch: generate() samples jointly
        sample = sampling.temperature > 0
        with torch.inference_mode():
            ids = self._model.generate(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                do_sample=sample, max_new_tokens=max(r.token_budget(sampling) for r in requests),
                temperature=sampling.temperature if sample else None,
                top_p=sampling.top_p if sample else None, pad_token_id=self._tok.pad_token_id)
        if not self._seq2seq:
            ids = ids[:, enc["input_ids"].shape[1]:]
        texts = self._tok.batch_decode(ids, skip_special_tokens=True)
        return [Completion(t) for t in texts]

    def close(self) -> None:
        self._model = None
