"""Causal LMs that score continuations of a shared prefix, reusing the prefix's KV cache.

Query likelihood and yes/no judging both put the passage first in the prompt.
One passage appears in many queries' candidate lists, so the passage prefix
is run once and its KV cache reused: each further query costs only its own
tokens. ``reuse=False`` runs every (prefix + continuation) from scratch; both
give the same logits (tested), the first is much faster.

Both backends return, for a continuation of ``n`` tokens, the ``n + 1`` rows of
logits predicting continuation token 0..n-1 and the token after the last.
"""

from __future__ import annotations

import copy
import logging
from abc import ABC, abstractmethod

import numpy as np

from corpusfit.errors import CorpusfitError
from corpusfit.teach.config import TeacherConfig

logger = logging.getLogger(__name__)

def resolve_gguf(name: str) -> str | None:
    """A .gguf path for a file or bundled short name (``models.bundled_gguf``); else None."""
    from corpusfit import models

    if name.strip().lower() in models.BUNDLED_GGUF or name.endswith(".gguf"):
        return str(models.resolve_gguf(name))
    return None


class PrefixLM(ABC):
    """Tokenizes text and returns continuation logits after a shared prefix."""

    @abstractmethod
    def encode(self, text: str, bos: bool = False) -> list[int]:
        """Token ids of ``text`` (with the model's BOS first when ``bos``)."""

    @abstractmethod
    def continuation_logits(self, prefix: list[int], conts: list[list[int]],
                            reuse: bool = True) -> list[np.ndarray]:
        """Per continuation, float32 logits of shape ``(len(cont) + 1, vocab)``."""

    def token_id(self, text: str) -> int:
        """The first token of ``text`` (e.g. " yes")."""
        ids = self.encode(text)
        if not ids:
            raise CorpusfitError(f"token text {text!r} encodes to nothing")
        return ids[0]


class HFPrefixLM(PrefixLM):
    """A transformers causal LM; the prefix cache is copied and expanded per batch."""

    def __init__(self, model: str, device: str | None = None, batch_size: int | str = "auto"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from corpusfit.models import resolve_model

        path = resolve_model(model)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        except OSError as e:
            raise CorpusfitError(f"cannot load causal LM '{model}' from {path}: {e}") from e
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model.to(self.device).eval()
        from corpusfit.teach.config import CPU_TEACHER_BATCH, GPU_TEACHER_BATCH

        auto = CPU_TEACHER_BATCH if self.device.type == "cpu" else GPU_TEACHER_BATCH
        self.batch_size = auto if batch_size == "auto" else int(batch_size)

    def encode(self, text: str, bos: bool = False) -> list[int]:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        bos_id = self.tokenizer.bos_token_id
        return ([bos_id] if bos and bos_id is not None else []) + list(ids)

    def _padded(self, seqs: list[list[int]]):
        import torch

        width = max(len(s) for s in seqs)
        ids = torch.zeros((len(seqs), width), dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):  # right padding: real tokens keep their positions
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
        return ids.to(self.device), mask.to(self.device)

    def continuation_logits(self, prefix, conts, reuse=True):
        import torch

        out: list[np.ndarray] = []
        with torch.inference_mode():
            if reuse:
                first = self.model(input_ids=torch.tensor([prefix], device=self.device),
                                   use_cache=True)
                last = first.logits[0, -1:].float()
                cache = first.past_key_values
            for b in range(0, len(conts), self.batch_size):
                batch = conts[b:b + self.batch_size]
                if reuse:
                    out += self._reused(prefix, batch, last, cache)
                else:
                    ids, mask = self._padded([prefix + c for c in batch])
                    logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
                    p = len(prefix)
                    out += [logits[i, p - 1:p + len(c)].cpu().numpy() for i, c in enumerate(batch)]
        return out

    def _reused(self, prefix, batch, last, cache) -> list[np.ndarray]:
        import torch

        past = copy.deepcopy(cache)  # forward appends to the cache in place
        if len(batch) > 1:
            past.batch_repeat_interleave(len(batch))
        ids, mask = self._padded(batch)
        full_mask = torch.cat([torch.ones((len(batch), len(prefix)), dtype=mask.dtype,
                                          device=self.device), mask], dim=1)
        logits = self.model(input_ids=ids, attention_mask=full_mask, past_key_values=past,
                            use_cache=True).logits.float()
        return [torch.cat([last, logits[i, :len(c)]]).cpu().numpy() for i, c in enumerate(batch)]


class LlamaCppPrefixLM(PrefixLM):
    """A GGUF model in llama-cpp-python; the prefix stays in its KV cache between queries."""

    def __init__(self, path: str, n_ctx: int = 1024, n_threads: int | None = None):
        from corpusfit.native import load_llama_cpp

        self.llm = load_llama_cpp().Llama(model_path=path, n_ctx=n_ctx, n_batch=min(n_ctx, 512),
                         n_threads=n_threads, logits_all=True, verbose=False)
        self.n_ctx = n_ctx

    def encode(self, text: str, bos: bool = False) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=bos, special=False))

    def continuation_logits(self, prefix, conts, reuse=True):
        llm, p, out = self.llm, len(prefix), []
        if p + max((len(c) for c in conts), default=0) + 1 > self.n_ctx:
            raise CorpusfitError(f"prompt of {p} tokens + continuation exceeds n_ctx {self.n_ctx}")
        if reuse:
            self._eval_without_logits(prefix[:-1])
        for c in conts:
            if reuse:
                # Drop the KV entries of the previous query; re-run the prefix's last token
                # with logits on, so both paths evaluate identical batches (same numerics).
                llm.n_tokens = p - 1
            else:
                self._eval_without_logits(prefix[:-1])
            llm.eval(prefix[-1:] + c)
            out.append(np.array(llm.scores[p - 1:p + len(c)], dtype=np.float32))
        return out

    def _eval_without_logits(self, tokens: list[int]) -> None:
        """Evaluate from scratch without computing logits.

        The vocabulary projection is a large share of a small model's compute,
        and the passage positions' logits are never read.
        """
        llm = self.llm
        llm.reset()
        if not tokens:
            return
        llm._logits_all = False  # llama-cpp-python's per-eval switch (private attribute)
        try:
            llm.eval(tokens)
        finally:
            llm._logits_all = True


def load_prefix_lm(config: TeacherConfig, extra_tokens: int = 160) -> PrefixLM:
    """The backend a config asks for (auto: llama-cpp for GGUF models)."""
    gguf = resolve_gguf(config.model)
    backend = config.backend
    if backend == "auto":
        backend = "llama-cpp" if gguf else "transformers"
    if backend == "llama-cpp":
        if not gguf:
            raise CorpusfitError(f"backend llama-cpp needs a .gguf model, got '{config.model}'")
        n_ctx = config.max_passage_tokens + config.max_query_tokens + extra_tokens
        return LlamaCppPrefixLM(gguf, n_ctx=n_ctx, n_threads=config.n_threads)
    if backend == "transformers":
        if gguf:
            raise CorpusfitError("GGUF models run with backend llama-cpp (or auto)")
        return HFPrefixLM(config.model, device=config.device, batch_size=config.batch_size)
    raise CorpusfitError(f"backend '{backend}' cannot score continuations locally")
