"""Encoding on several devices at once, with sentence-transformers' multi-process pool.

``DenseEncoder.encode(texts, kind, devices=...)`` (``encode_devices`` in the mine and
evaluate configs) hands the texts that missed the embedding cache to
:func:`encode_in_pool`: ``SentenceTransformer.start_multi_process_pool`` starts one process
per device, and the texts go to it longest first, one slice at a time, through
``SentenceTransformer.encode(..., pool=pool)``. The vectors come back in input order and
go into the one embedding cache, as those of one process do.

What stays as in one process: the kind's prompt and route (``prompt=``, ``task=``),
``truncate_dim``, the cache namespace, and bf16 (autocast around the whole forward pass,
token embeddings cast to fp32 before pooling: hooks that travel with the model to the
workers). The token budget is kept per slice: a slice's batch size is the budget over its
longest text (within the CPU caps on a CPU worker), at most ``max_batch``. What differs:
sentence-transformers cuts a worker's chunk into batches of that one size, so a batch may
hold fewer texts than the one-process path would put in it; vectors agree within fp
tolerance, as they do across batch sizes. The progress bar moves once per slice.

Not run on a GPU here (no GPU was lent to this project): tested with two CPU processes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from corpusfit.retrieve.settings import POOL_MIN_TEXTS, EncodeDevices

logger = logging.getLogger(__name__)

# Batches a worker takes at a time; a slice is one such chunk per worker. Texts of a slice
# have about the same length (they are sorted), so the workers finish it together.
CHUNK_BATCHES = 8


def pool_devices(setting: EncodeDevices | None, device: torch.device,
                 n_texts: int) -> list[str] | None:
    """The devices to encode ``n_texts`` on, or None: one process, on ``device``.

    A list is taken as it is. ``auto`` is every visible CUDA GPU when ``device`` (the
    encoder's own) is a GPU, two or more are visible and there are at least
    :data:`~corpusfit.retrieve.settings.POOL_MIN_TEXTS` texts; else None.
    """
    if setting is None:
        return None
    if setting != "auto":
        return list(setting)
    if device.type != "cuda" or n_texts < POOL_MIN_TEXTS:
        return None
    count = torch.cuda.device_count()
    return [f"cuda:{i}" for i in range(count)] if count > 1 else None


class _Autocast:
    """bf16 autocast around a module's forward pass, as a forward pre-hook and hook.

    ``DenseEncoder.embed`` runs the model inside ``precision.autocast``; pool workers run
    sentence-transformers' own forward, so the same autocast rides on the model instead
    (an instance pickles with the model into each worker).
    """

    def __init__(self):
        self._context = None

    def enter(self, module, _args):
        device = next(module.parameters()).device
        self._context = torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        self._context.__enter__()

    def exit(self, _module, _args, output):
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None
        return output


def _autocast_hooks(model: torch.nn.Module) -> list:
    hook = _Autocast()
    return [model.register_forward_pre_hook(hook.enter),
            model.register_forward_hook(hook.exit, always_call=True)]


def _slices(lengths: Sequence[int], workers: int, batch_tokens: int, max_batch: int):
    """(positions longest first, batch size) of each slice: one chunk per worker."""
    order = np.argsort([-n for n in lengths], kind="stable")
    start = 0
    while start < len(order):
        batch = max(1, min(max_batch, batch_tokens // max(lengths[order[start]], 1)))
        positions = order[start:start + batch * CHUNK_BATCHES * workers]
        yield positions, batch
        start += len(positions)


def encode_in_pool(model, texts: list[str], lengths: list[int], devices: list[str], *,
                   prompt: str | None, task: str, batch_tokens: int, max_batch: int,
                   bf16: bool, bar) -> np.ndarray:
    """Vectors of ``texts`` (rows in input order, float32), one process per device.

    Args:
        model: the encoder's ``SentenceTransformer``; the pool moves it to the CPU, and it
            is moved back to its device afterwards.
        lengths: token counts of ``texts`` (``DenseEncoder._lengths``), for the order and
            the batch sizes.
        batch_tokens, max_batch: the token budget and text cap of one batch, already
            within the CPU caps for CPU workers.
        bar: a tqdm bar over tokens, updated once per slice.
    """
    home = model.device
    hooks = _autocast_hooks(model) if bf16 else []
    logger.info("encoding %d texts on %d processes: %s", len(texts), len(devices),
                ", ".join(devices))
    pool = model.start_multi_process_pool(list(devices))
    out: np.ndarray | None = None
    try:
        for positions, batch in _slices(lengths, len(devices), batch_tokens, max_batch):
            emb = model.encode([texts[i] for i in positions], prompt=prompt, task=task,
                               batch_size=batch, chunk_size=batch * CHUNK_BATCHES, pool=pool,
                               convert_to_numpy=True, show_progress_bar=False)
            if out is None:
                out = np.zeros((len(texts), emb.shape[1]), dtype=np.float32)
            out[positions] = emb
            bar.update(sum(lengths[i] for i in positions))
    finally:
        model.stop_multi_process_pool(pool)
        for handle in hooks:
            handle.remove()
        model.to(home)
    return out
