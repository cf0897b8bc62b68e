"""One optimizer step and one dev evaluation over (possibly gathered) batches."""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import Tensor

from corpusfit.data.artifacts import TrainingList
from corpusfit.errors import CorpusfitError
from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.train.config import TrainConfig
from corpusfit.train.data import TrainData, collate, shard
from corpusfit.train.distributed import DistContext, all_reduce_grads, gather_batch
from corpusfit.train.gradcache import GradCache
from corpusfit.train.losses import Objective

logger = logging.getLogger(__name__)


def lr_factor(step: int, warmup: int, total: int, final: float,
              from_zero: bool = False) -> float:
    """Linear warmup to 1 over ``warmup`` steps, then linear decay to ``final`` at ``total``.

    Args:
        step: the schedule position (0-based optimizer step).
        warmup: warmup steps; the factor is 1 from step ``warmup`` on, before the decay.
        total: planned steps; the factor reaches ``final`` at step ``total - 1``.
        final: the floor of the decay.
        from_zero: warmup factor ``step / warmup`` (0 at step 0, the reference's rule)
            instead of ``(step + 1) / warmup``.
    """
    if step < warmup:
        return (step if from_zero else step + 1) / warmup
    span = max(1, total - warmup - 1)
    return 1.0 - (1.0 - final) * min(1.0, (step - warmup) / span)


def step_seed(seed: int, rank: int, step: int) -> int:
    """Per-step RNG seed: dropout masks depend only on (seed, rank, step), so resumes repeat."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0])


def set_dropout(model: torch.nn.Module, p: float) -> int:
    """Set every dropout probability of ``model`` (its config and its modules) to ``p``.

    Covers ``nn.Dropout`` modules (whose ``p`` attention implementations read too), float
    module attributes named ``*dropout*`` and the ``*dropout*`` floats of every Hugging
    Face config inside (so a saved folder records what training used).

    Returns:
        How many module-level probabilities were set.
    """
    from transformers import PretrainedConfig

    configs = {id(c): c for c in (getattr(m, "config", None) for m in model.modules())
               if isinstance(c, PretrainedConfig)}
    for config in configs.values():
        for key, value in config.to_dict().items():
            if "dropout" in key and isinstance(value, float):
                setattr(config, key, p)
    changed = 0
    for module in model.modules():
        if isinstance(module, torch.nn.modules.dropout._DropoutNd):
            module.p = p
            changed += 1
        for key, value in list(vars(module).items()):
            if "dropout" in key and isinstance(value, float):
                setattr(module, key, p)
                changed += 1
    logger.info("dropout set to %g (%d module settings)", p, changed)
    return changed


class NonFiniteError(CorpusfitError):
    """Training produced NaN or infinity; nothing is exported or marked done."""


def check_finite(value: Tensor, what: str, lists: list[TrainingList]) -> None:
    """Stop on a NaN/inf ``value`` (same decision in every process: values are global)."""
    if not bool(torch.isfinite(value).all()):
        qids = ", ".join(x.qid for x in lists[:8]) + (" ..." if len(lists) > 8 else "")
        shown = float(value.detach().float().max())
        raise NonFiniteError(f"non-finite {what} ({shown:g}) on lists "
                             f"{qids}; check the lists' scores, the learning rate and the "
                             "loss weights")


def check_weights_finite(model: torch.nn.Module) -> None:
    """Refuse to export a model with a NaN or infinite weight."""
    for name, param in model.named_parameters():
        if not bool(torch.isfinite(param).all()):
            raise NonFiniteError(f"the trained weights are not finite ({name}); "
                                 "no model was written")


class Trainer:
    """Holds the student, objective, optimizer and (in query-only mode) the passage bank."""

    def __init__(self, cfg: TrainConfig, data: TrainData, encoder: DenseEncoder,
                 ctx: DistContext, total_steps: int, passage_bank: Tensor | None = None,
                 steps_per_epoch: int | None = None):
        cfg = cfg.resolved(encoder.device.type)  # idempotent; callers may pass "auto"s
        self.cfg, self.data, self.encoder, self.ctx = cfg, data, encoder, ctx
        self.bank = passage_bank
        if cfg.dropout is not None:
            set_dropout(encoder.model, cfg.dropout)
        self.objective = Objective(cfg.objective, cfg.loss)
        self.gc = GradCache(encoder, cfg.chunk_size, cfg.gradcache)
        self.params = [p for p in encoder.model.parameters() if p.requires_grad]
        self.lr = cfg.learning_rate()
        self.optimizer = torch.optim.AdamW(self.params, lr=self.lr,
                                           weight_decay=cfg.weight_decay)
        self.total_steps = total_steps
        per_epoch = steps_per_epoch or max(1, total_steps // cfg.epochs)
        self.warmup = cfg.warmup_steps(total_steps, per_epoch)

    def _passages(self, keys: list[int], grad: bool) -> Tensor:
        if self.bank is not None:  # query-only: frozen base-model passages
            return self.bank[torch.tensor(keys, device=self.bank.device)]
        texts = [self.data.doc_texts[k] for k in keys]
        if grad:
            return self.gc.forward(texts, "passage")
        return self._embed_no_grad(texts, "passage")

    def _embed_no_grad(self, texts: list[str], kind) -> Tensor:
        with torch.no_grad():
            size = self.cfg.chunk_size
            return torch.cat([self.encoder.embed(self.encoder.tokenize(texts[i:i + size], kind))
                              for i in range(0, len(texts), size)])

    def _global_loss(self, lists: list[TrainingList], grad: bool) -> dict[str, Tensor]:
        local = collate(shard(lists, self.ctx.rank, self.ctx.world), self.data.key_of)
        dev = self.encoder.device
        if grad:
            q = self.gc.forward(local.query_texts, "query")
        else:
            q = self._embed_no_grad(local.query_texts, "query")
        p = self._passages(local.passage_keys, grad)
        b = local.batch
        b = type(b)(b.list_idx.to(dev), b.list_mask.to(dev), b.scores.to(dev),
                    b.doc_keys.to(dev))
        q_all, p_all, b_all = gather_batch(q, p, b, self.ctx)
        return self.objective(q_all, p_all, b_all)

    def train_step(self, lists: list[TrainingList], step: int,
                   schedule_step: int | None = None) -> dict[str, float]:
        """One optimizer step on a global batch; returns loss components, lr, grad norm.

        ``schedule_step`` (default ``step``) is the lr schedule's position; a time budget
        moves it ahead of ``step`` so that the decay ends when the time does.
        """
        cfg = self.cfg
        torch.manual_seed(step_seed(cfg.seed, self.ctx.rank, step))
        self.encoder.model.train()  # dropout probabilities: see set_dropout
        at = step if schedule_step is None else schedule_step
        lr = self.lr * lr_factor(at, self.warmup, self.total_steps, cfg.final_lr_ratio,
                                 from_zero=cfg.warmup == "reference")
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        parts = self._global_loss(lists, grad=True)
        check_finite(parts["loss"], f"loss at step {step + 1}", lists)
        self.gc.backward(parts["loss"])
        all_reduce_grads(self.params, self.ctx)
        norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
        check_finite(norm, f"gradient norm at step {step + 1}", lists)  # before the update
        self.optimizer.step()
        out = {k: float(v.detach()) for k, v in parts.items()}
        out.update(lr=lr, grad_norm=float(norm))
        return out

    def evaluate(self, lists: list[TrainingList]) -> dict[str, float]:
        """Loss components on ``lists`` (query-weighted mean over batches), without dropout."""
        self.encoder.model.eval()
        size = self.cfg.queries_per_step
        sums: dict[str, float] = {}
        n = 0
        for i in range(0, len(lists), size):
            part = lists[i:i + size]
            if len(part) < self.ctx.world:  # every process needs at least one query
                continue
            n += len(part)
            parts = self._global_loss(part, grad=False)
            check_finite(parts["loss"], "dev loss", part)  # a NaN would never compare better
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(part)
        return {k: v / max(n, 1) for k, v in sums.items()}


def build_passage_bank(encoder: DenseEncoder, data: TrainData, cache_dir, ctx: DistContext,
                       show_progress: bool = True) -> Tensor:
    """Base-model embeddings of every listed passage (query-only mode), via the disk cache.

    The main process encodes first; the others then read its cache.
    """
    rows = None
    if ctx.is_main:
        rows = encoder.encode(data.doc_texts, "passage", cache_dir=cache_dir,
                              show_progress=show_progress)
    ctx.barrier()
    if rows is None:
        rows = encoder.encode(data.doc_texts, "passage", cache_dir=cache_dir,
                              show_progress=False)
    return torch.from_numpy(rows).to(encoder.device)

