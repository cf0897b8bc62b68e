"""Dense encoder: a sentence-transformers model with corpusfit's batching, cache and bf16.

The model is what ``SentenceTransformer(folder)`` loads, and its own module list
(Transformer, Pooling of any mode, Dense, Normalize, Router ...) does the forward pass,
with the prompt and the route ``encode_query`` / ``encode_document`` would take, so the
vectors are sentence-transformers' own (tests/retrieve/test_architectures.py). corpusfit
adds, on top:

- token-budget batching: texts are sorted by token length and cut into batches by a
  *token* budget, so short texts share big batches and no batch pads far beyond its
  longest text (``SentenceTransformer.encode`` takes a fixed number of texts per batch);
- the embedding cache (:class:`~corpusfit.retrieve.cache.EmbeddingCache`), keyed by the
  weights and settings of the modules a kind of text runs through;
- bf16 autocast (``precision``), with pooling and everything after it in fp32;
- a progress bar over the tokens encoded with the time left (log lines when stderr is not
  a terminal, :mod:`~corpusfit.retrieve.progress`), and, with ``devices``, one process per
  GPU (:mod:`~corpusfit.retrieve.pool`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from corpusfit.models import resolve_model
from corpusfit.precision import Precision, autocast
from corpusfit.precision import resolve as resolve_precision
from corpusfit.retrieve.cache import EmbeddingCache
from corpusfit.retrieve.pool import encode_in_pool, pool_devices
from corpusfit.retrieve.progress import progress_bar
from corpusfit.retrieve.settings import EncodeDevices, EncoderOptions, default
from corpusfit.retrieve.st_folder import (
    TASKS,
    ends_normalized,
    input_module,
    load_sentence_transformer,
    max_length,
    module_path,
    to_query_only,
)
from corpusfit.workspace import config_hash

logger = logging.getLogger(__name__)

Kind = Literal["query", "passage"]
_PROMPT_NAMES = {"query": ("query",), "passage": ("document", "passage", "corpus")}
_PER_KIND = ("query_length", "document_length")
# Batch caps on a CPU, where big batches run out of cache: 64 texts / 4,096 tokens was the
# fastest budget measured (benchmarks/results/encode.md); vectors do not depend on it.
CPU_BATCH, CPU_TOKENS = 64, 4096


def model_fingerprint(model_dir: str) -> str:
    """Cheap identity of a model folder: path plus names, sizes, mtimes of weight files."""
    folder = Path(model_dir)
    if not folder.exists():
        return model_dir
    parts = [str(folder.resolve())]
    for f in sorted(folder.rglob("*")):
        if f.suffix in {".safetensors", ".bin", ".pt"}:
            st = f.stat()
            parts.append(f"{f.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}")
    return config_hash(parts)


def modules_digest(modules: list[torch.nn.Module]) -> str:
    """Identity of a module list (types, configs, weights), wherever the folder lies: a
    query-only model's document route is the base model and shares its cached vectors."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(type(module).__name__.encode())
        config = dict(module.get_config_dict()) if hasattr(module, "get_config_dict") else {}
        for key in _PER_KIND:  # the cache key has the kind's own max length
            config.pop(key, None)
        digest.update(json.dumps(config, sort_keys=True, default=str).encode())
        for name, tensor in module.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8)
                          .numpy().tobytes())
    return digest.hexdigest()[:16]


def _float_token_embeddings(_module, _args, output):
    """Forward hook: a Transformer's bf16 token embeddings become fp32 before pooling."""
    if isinstance(output, dict) and isinstance(output.get("token_embeddings"), torch.Tensor):
        output["token_embeddings"] = output["token_embeddings"].float()
    return output


class DenseEncoder:
    """A sentence-transformers model that encodes queries and passages for corpusfit.

    Load with :meth:`load`; ``encode(texts, "query" | "passage")`` gives the vectors of
    ``encode_query`` / ``encode_document``; ``tokenize`` + ``embed`` are the same forward
    pass with its autograd graph, for training; :meth:`save` writes the folder with
    ``SentenceTransformer.save``.
    """

    def __init__(self, model, name: str = "", options: EncoderOptions | None = None,
                 precision: Precision = "fp32"):
        self.model = model
        self.name = name
        self.options = options or EncoderOptions()
        self.device = torch.device(model.device)
        # fp32 unless asked: vectors then equal sentence-transformers' own; "auto" = bf16
        # autocast where the hardware multiplies bf16 natively (corpusfit/precision.py).
        self.precision = resolve_precision(precision, self.device)
        if self.precision == "bf16":
            inputs = {id(m): m for m in (input_module(model, kind) for kind in TASKS)}
            for module in inputs.values():
                module.register_forward_hook(_float_token_embeddings)

    @classmethod
    def load(cls, model: str, options: EncoderOptions | None = None, *,
             device: str | None = None, precision: Precision = "fp32",
             query_only: bool = False) -> DenseEncoder:
        """Load a short name (``minilm``), a local folder or a hub id (from the local cache
        when ``HF_HUB_OFFLINE=1``); ``query_only`` makes a base model's query side trainable
        on its own (:func:`~corpusfit.retrieve.st_folder.to_query_only`)."""
        options = options or EncoderOptions()
        path = resolve_model(model)
        st = load_sentence_transformer(model, path, options, device)
        if query_only:
            st = to_query_only(st)
        st.eval()
        logger.info("loaded encoder %s (%s)", model, type(st[0]).__name__)
        return cls(st, name=path, options=options, precision=precision)

    @property
    def is_asymmetric(self) -> bool:
        """Whether queries and passages run through different modules (a Router)."""
        return module_path(self.model, "query") != module_path(self.model, "passage")

    def prompt(self, kind: Kind) -> str | None:
        """The prompt ``encode_query`` / ``encode_document`` would use (or the options')."""
        chosen = (self.options.query_prompt_name if kind == "query"
                  else self.options.document_prompt_name)
        prompts = self.model.prompts
        name = chosen or next((n for n in _PROMPT_NAMES[kind] if n in prompts), None)
        name = name or self.model.default_prompt_name
        return prompts.get(name) if name else None

    def normalizes(self, kind: Kind) -> bool:
        """Whether ``kind`` vectors come out with unit length."""
        return ends_normalized(self.model, kind)

    def for_search(self, emb: np.ndarray, kind: Kind) -> np.ndarray:
        """Vectors whose inner product is the model's similarity (cosine unless it says
        ``dot``): unit length already, or normalized here."""
        if self.model.similarity_fn_name != "cosine" or self.normalizes(kind):
            return emb
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)

    def cache_namespace(self, kind: Kind) -> str:
        # Not memoized: the weights of a student change while it trains. bf16 vectors differ
        # from fp32 ones, so they get their own namespace. Only what shapes this kind's
        # vectors: a new query prompt or length keeps the cached passage vectors.
        shaping = {"modules": modules_digest(module_path(self.model, kind)),
                   "prompt": self.prompt(kind), "max_length": max_length(self.model, kind),
                   "truncate_dim": self.model.truncate_dim}
        return config_hash([shaping, kind] + (["bf16"] if self.precision == "bf16" else []))

    def tokenize(self, texts: list[str], kind: Kind) -> dict:
        """The model's own preprocessing (prompt, route, max length); tensors on the device."""
        task = TASKS[kind]
        feats = self.model.preprocess(list(texts), prompt=self.prompt(kind), task=task)
        feats = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v
                 for k, v in feats.items()}
        feats["task"] = task
        return feats

    def embed(self, features: dict) -> torch.Tensor:
        """Sentence embeddings of tokenized inputs (fp32); keeps the autograd graph."""
        with autocast(self.precision, self.device):
            out = self.model(dict(features), task=features.get("task"))
        emb = out["sentence_embedding"].float()
        dim = self.model.truncate_dim
        return emb[..., :dim] if dim else emb

    def _lengths(self, texts: list[str], kind: Kind) -> list[int]:
        """Token counts (prompt included, cut at the max length) for sorting and budgets."""
        tok = getattr(input_module(self.model, kind), "tokenizer", None)
        prompt = self.prompt(kind) or ""
        if tok is None:
            return [len(prompt) + len(t) for t in texts]
        limit = max_length(self.model, kind)
        ids = tok([prompt + t for t in texts], truncation=limit is not None, max_length=limit,
                  return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        return [len(x) for x in ids]

    @staticmethod
    def _caps(device_type: str, batch_tokens: int, max_batch: int) -> tuple[int, int]:
        """(token budget, texts) of one batch on a device of this type."""
        if device_type == "cpu":
            return min(batch_tokens, CPU_TOKENS), min(max_batch, CPU_BATCH)
        return batch_tokens, max_batch

    def _batches(self, texts: list[str], kind: Kind, batch_tokens: int, max_batch: int,
                 lengths: list[int] | None = None):
        batch_tokens, max_batch = self._caps(self.device.type, batch_tokens, max_batch)
        lengths = self._lengths(texts, kind) if lengths is None else lengths
        order = np.argsort([-n for n in lengths], kind="stable")
        batch: list[int] = []
        for i in order:
            width = max(lengths[batch[0]] if batch else 0, lengths[i])
            if batch and ((len(batch) + 1) * width > batch_tokens or len(batch) >= max_batch):
                yield batch
                batch = []
            batch.append(int(i))
        if batch:
            yield batch

    @torch.inference_mode()
    def _encode_uncached(self, texts: list[str], kind: Kind, batch_tokens: int,
                         max_batch: int, show_progress: bool,
                         devices: EncodeDevices | None = None) -> np.ndarray:
        if not texts:
            dim = self.model.get_embedding_dimension() or 0
            return np.zeros((0, dim), dtype=np.float32)
        self.model.eval()
        lengths = self._lengths(texts, kind)
        pool = pool_devices(devices, self.device, len(texts))
        # Longest texts first: texts/s rises through a run, tokens/s hardly, so the bar
        # counts tokens and its time left holds from the start.
        desc = f"encode {len(texts)} {kind} texts" + (f" on {len(pool)} processes"
                                                       if pool else "")
        with progress_bar(sum(lengths), desc, "tok", logger, not show_progress) as bar:
            if pool:
                worker = "cpu" if any(d.startswith("cpu") for d in pool) else "cuda"
                budget, most = self._caps(worker, batch_tokens, max_batch)
                return encode_in_pool(self.model, texts, lengths, pool,
                                      prompt=self.prompt(kind), task=TASKS[kind],
                                      batch_tokens=budget, max_batch=most,
                                      bf16=self.precision == "bf16", bar=bar)
            out: np.ndarray | None = None
            for positions in self._batches(texts, kind, batch_tokens, max_batch, lengths):
                emb = self.embed(self.tokenize([texts[i] for i in positions], kind))
                emb = emb.cpu().numpy()
                if out is None:
                    out = np.zeros((len(texts), emb.shape[1]), dtype=np.float32)
                out[positions] = emb
                bar.update(sum(lengths[i] for i in positions))
            return out

    def encode(self, texts: list[str], kind: Kind = "passage",
               batch_tokens: int = default("batch_tokens"), max_batch: int = 256,
               cache_dir: str | os.PathLike | None = None,
               show_progress: bool = True, devices: EncodeDevices | None = None) -> np.ndarray:
        """Encode texts to a float32 matrix (rows in input order), using the cache if given.

        ``devices``: None encodes in this process, on the encoder's device; ``auto`` or a
        list of devices encodes what the cache lacks in one process per device
        (:func:`~corpusfit.retrieve.pool.pool_devices`), into the same cache.
        """
        if cache_dir is None:
            return self._encode_uncached(texts, kind, batch_tokens, max_batch, show_progress,
                                         devices)
        cache = EmbeddingCache(cache_dir, self.cache_namespace(kind))
        hits, misses = cache.get(texts)
        computed = {}
        if misses:
            miss_texts = list(dict.fromkeys(texts[i] for i in misses))
            emb = self._encode_uncached(miss_texts, kind, batch_tokens, max_batch, show_progress,
                                        devices)
            cache.put(miss_texts, emb)
            computed = {t: emb[j] for j, t in enumerate(miss_texts)}
        logger.debug("encode %s: %d cached, %d computed", kind, len(hits), len(misses))
        rows = [hits[i] if i in hits else computed[texts[i]] for i in range(len(texts))]
        return np.stack(rows).astype(np.float32) if rows else self._encode_uncached(
            [], kind, batch_tokens, max_batch, False)

    def save(self, folder: str | os.PathLike) -> None:
        """Write the model with ``SentenceTransformer.save`` (via a temp folder + rename).

        Prompts chosen by name in the options are saved as the ``query`` / ``document``
        prompts, so ``encode_query`` / ``encode_document`` of the folder encode alike.
        """
        folder = Path(folder)
        tmp = folder.with_name(f".{folder.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        saved = dict(self.model.prompts)
        try:
            self.model.prompts.update({"query": self.prompt("query") or "",
                                       "document": self.prompt("passage") or ""})
            self.model.save(str(tmp), create_model_card=False)
        finally:
            self.model.prompts.clear()
            self.model.prompts.update(saved)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
