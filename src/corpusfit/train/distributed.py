"""Multi-process training under ``torchrun`` / ``accelerate launch`` (DDP semantics).

Every process embeds its shard of the global batch; embeddings and list tensors are
gathered so that each process computes the *global* loss over all queries against all
passages, with gradients kept only on its local shard. Summing the parameter gradients
over processes then gives exactly the single-process gradient of the global batch.
Gradients are all-reduced once per optimizer step, after the GradCache replay (DDP's
hooks would all-reduce after every replayed chunk).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

from corpusfit.train.losses import ListBatch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owned: bool = False  # corpusfit created the process group (and so closes it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def init_distributed(device: str | None = None) -> tuple[DistContext, str]:
    """Join the process group the launcher set up (env ``WORLD_SIZE``); return (ctx, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
    if device is None:
        device = f"cuda:{local}" if use_cuda else "cpu"
    if world <= 1:
        return DistContext(), device
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    ctx = DistContext(dist.get_rank(), dist.get_world_size(), local, owned)
    logger.info("process %d of %d on %s", ctx.rank, ctx.world, device)
    return ctx, device


def close_distributed(ctx: DistContext) -> None:
    """Leave the process group after every rank is done. Exiting with a live gloo group
    let a rank abort at interpreter exit ("terminate called without an active exception",
    exit -6) while the others were still shutting down."""
    if ctx.active and ctx.owned and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def gather_rows(t: Tensor, ctx: DistContext) -> tuple[Tensor, list[int]]:
    """Concatenate every process's rows (sizes may differ); the local shard keeps its grad."""
    size = torch.tensor([t.shape[0]], device=t.device)
    sizes = [torch.zeros_like(size) for _ in range(ctx.world)]
    dist.all_gather(sizes, size)
    counts = [int(s.item()) for s in sizes]
    longest = max(counts)
    pad = torch.zeros((longest - t.shape[0], *t.shape[1:]), dtype=t.dtype, device=t.device)
    padded = torch.cat([t.detach(), pad])
    bufs = [torch.empty_like(padded) for _ in range(ctx.world)]
    dist.all_gather(bufs, padded)
    parts = [b[:n] for b, n in zip(bufs, counts, strict=True)]
    parts[ctx.rank] = t
    return torch.cat(parts), counts


def _pad_cols(t: Tensor, width: int) -> Tensor:
    extra = torch.zeros((t.shape[0], width - t.shape[1]), dtype=t.dtype, device=t.device)
    return torch.cat([t, extra], dim=1)


def gather_batch(q: Tensor, p: Tensor, batch: ListBatch,
                 ctx: DistContext) -> tuple[Tensor, Tensor, ListBatch]:
    """All processes' queries, passage columns and lists as one global batch."""
    if not ctx.active:
        return q, p, batch
    q_all, _ = gather_rows(q, ctx)
    p_all, p_counts = gather_rows(p, ctx)
    width = torch.tensor([batch.list_idx.shape[1]], device=q.device)
    dist.all_reduce(width, op=dist.ReduceOp.MAX)
    w = int(width.item())
    offset = sum(p_counts[:ctx.rank])  # local columns -> global columns
    idx, _ = gather_rows(_pad_cols(batch.list_idx + offset, w), ctx)
    mask, _ = gather_rows(_pad_cols(batch.list_mask.to(torch.uint8), w), ctx)
    scores, _ = gather_rows(_pad_cols(batch.scores, w), ctx)
    keys, _ = gather_rows(batch.doc_keys, ctx)
    return q_all, p_all, ListBatch(idx, mask.bool(), scores, keys)


def all_reduce_grads(params: list[torch.nn.Parameter], ctx: DistContext) -> None:
    """Sum gradients over processes (each holds d global loss / d local embeddings)."""
    if not ctx.active:
        return
    for prm in params:
        if prm.grad is None:
            prm.grad = torch.zeros_like(prm)
        dist.all_reduce(prm.grad, op=dist.ReduceOp.SUM)


def any_process(flag: bool, ctx: DistContext, device: str = "cpu") -> bool:
    """True when ``flag`` is true in any process (keeps stop decisions in step)."""
    if not ctx.active:
        return flag
    t = torch.tensor([int(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def from_main(value: float, ctx: DistContext, device: str = "cpu") -> float:
    """The main process's ``value`` in every process (e.g. a time-based schedule position)."""
    if not ctx.active:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return float(t.item())


# Rank 0 may generate for hours while the other ranks wait for it at a barrier.
GATE_TIMEOUT_HOURS = 72


class StageGate:
    """``corpusfit run`` under torchrun: every rank trains, rank 0 alone runs the rest.

    Launched with ``WORLD_SIZE`` > 1, the gate joins the process group (NCCL on GPUs,
    gloo on CPUs, as training would) plus a gloo group with a long timeout for waiting;
    :meth:`runs_here` says whether this rank runs a stage and :meth:`done` holds every
    rank until the stage is finished. Outside torchrun it lets everything run here.
    """

    def __init__(self, device: str | None = None):
        from datetime import timedelta

        self.ctx, _ = init_distributed(device)
        self._group = None
        if self.ctx.active:
            self._group = dist.new_group(backend="gloo",
                                         timeout=timedelta(hours=GATE_TIMEOUT_HOURS))

    def runs_here(self, stage_name: str) -> bool:
        return not self.ctx.active or stage_name == "train" or self.ctx.is_main

    def done(self) -> None:
        """Wait until every rank has finished the stage (rank 0 writes its outputs)."""
        if self.ctx.active:
            dist.barrier(group=self._group)

    def close(self) -> None:
        if self.ctx.active:
            dist.destroy_process_group(self._group)
        close_distributed(self.ctx)
