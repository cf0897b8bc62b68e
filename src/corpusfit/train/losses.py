"""Training losses as small modules over embeddings, teacher scores and masks.

Every loss takes ``(q, p, batch)``:

- ``q``: ``[B, D]`` query embeddings;
- ``p``: ``[P, D]`` passage embeddings, one row per passage *column* of the batch;
- ``batch``: a :class:`ListBatch` saying which columns form each query's list.

and returns a dict of named scalar components, so each can be logged. Cosine
similarity is used throughout (inputs are normalized here, a no-op for
normalized encoders).

The same modules train through sentence-transformers' own trainer via
:mod:`corpusfit.train.st_losses` (its ``forward(sentence_features, labels)`` door).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from corpusfit.errors import ConfigError
from corpusfit.train.config import LossConfig, LossName

# Finite stand-in for -inf where a masked entry later meets multiplication by zero:
# ``0 * -inf`` is NaN in the backward pass, ``0 * -1e4`` is not.
_MASKED = -1e4


def _default(name: str) -> float:
    """A loss constant's default: LossConfig's, the one place defaults live."""
    return LossConfig.model_fields[name].default


@dataclass
class ListBatch:
    """Index tensors of one batch of teacher-scored lists.

    Attributes:
        list_idx: ``[B, L]`` long, column of ``p`` for each list entry (0 where padded).
        list_mask: ``[B, L]`` bool, True for real entries.
        scores: ``[B, L]`` float, normalized teacher scores (0 where padded).
        doc_keys: ``[P]`` long, document identity of each column; equal keys = same doc.
    """

    list_idx: Tensor
    list_mask: Tensor
    scores: Tensor
    doc_keys: Tensor

    @property
    def size(self) -> int:
        return int(self.list_idx.shape[0])

    def positive_pos(self) -> Tensor:
        """``[B]`` list position of the teacher's top passage (first on ties)."""
        return self.scores.masked_fill(~self.list_mask, float("-inf")).argmax(dim=1)

    def canonical_columns(self) -> Tensor:
        """``[P]`` first column holding the same document (deduplication across the batch)."""
        _, inverse = torch.unique(self.doc_keys, return_inverse=True)
        n = self.doc_keys.shape[0]
        cols = torch.arange(n, device=self.doc_keys.device)
        first = torch.full((int(inverse.max()) + 1 if n else 0,), n, dtype=torch.long,
                           device=cols.device).scatter_reduce(0, inverse, cols, "amin")
        return first[inverse]


def _cos_lists(q: Tensor, p: Tensor, batch: ListBatch) -> Tensor:
    """``[B, L]`` cosine of each query with each passage of its own list."""
    qn, pn = F.normalize(q, dim=-1), F.normalize(p, dim=-1)
    return torch.einsum("bd,bld->bl", qn, pn[batch.list_idx])


class ListwiseKL(nn.Module):
    """KL(teacher || student) over each query's list.

    Student distribution ``softmax(cos / student_temperature)``, teacher distribution
    ``softmax(score / teacher_temperature)``; both by log-softmax, padded entries
    masked; averaged over queries.
    """

    def __init__(self, student_temperature: float = _default("student_temperature"),
                 teacher_temperature: float = _default("teacher_temperature")):
        super().__init__()
        self.ts, self.tt = student_temperature, teacher_temperature

    def forward(self, q: Tensor, p: Tensor, batch: ListBatch) -> dict[str, Tensor]:
        mask = batch.list_mask
        student = (_cos_lists(q, p, batch) / self.ts).masked_fill(~mask, _MASKED)
        teacher = (batch.scores.to(q.dtype) / self.tt).masked_fill(~mask, _MASKED)
        log_ps = F.log_softmax(student, dim=-1)
        log_pt = F.log_softmax(teacher, dim=-1)
        kl = torch.where(mask, log_pt.exp() * (log_pt - log_ps), torch.zeros_like(log_ps))
        return {"listwise": kl.sum(dim=-1).mean()}


class InfoNCE(nn.Module):
    """Contrastive loss against every passage column of the (gathered) batch.

    The positive of query i is its teacher's top passage; negatives are all other
    columns (other queries' positives and listed passages). Duplicate columns of one
    document count once. With ``false_negative_ratio`` set, a column is also no
    negative for i when it is i's positive document or in i's list with a score
    above ``ratio x`` i's top score.
    """

    def __init__(self, temperature: float = _default("infonce_temperature"),
                 false_negative_ratio: float | None = _default("false_negative_ratio"),
                 name: str = "infonce"):
        super().__init__()
        self.t, self.ratio, self.name = temperature, false_negative_ratio, name

    def excluded(self, batch: ListBatch) -> tuple[Tensor, Tensor]:
        """Return (``[B, P]`` bool: column is no negative for the row, ``[B]`` positive column)."""
        canon = batch.canonical_columns()
        n_q, n_p = batch.size, batch.doc_keys.shape[0]
        rows = torch.arange(n_q, device=canon.device)
        pos_col = canon[batch.list_idx[rows, batch.positive_pos()]]
        first = canon == torch.arange(n_p, device=canon.device)
        excluded = (~first).unsqueeze(0).expand(n_q, n_p).clone()
        if self.ratio is not None:
            top = batch.scores.masked_fill(~batch.list_mask, float("-inf")).amax(dim=1)
            high = batch.list_mask & (batch.scores > self.ratio * top.unsqueeze(1))
            r, c = high.nonzero(as_tuple=True)
            excluded[r, canon[batch.list_idx[r, c]]] = True
        excluded[rows, pos_col] = False
        return excluded, pos_col

    def forward(self, q: Tensor, p: Tensor, batch: ListBatch) -> dict[str, Tensor]:
        logits = F.normalize(q, dim=-1) @ F.normalize(p, dim=-1).T / self.t
        excluded, pos_col = self.excluded(batch)
        logits = logits.masked_fill(excluded, float("-inf"))
        return {self.name: F.cross_entropy(logits, pos_col)}


class MarginMSE(nn.Module):
    """GPL's loss: MSE between student and teacher margins (positive minus each negative).

    The positive is the teacher's top passage; every other entry of the query's list
    is a negative. Student margins use cosine, teacher margins the normalized scores.
    """

    def forward(self, q: Tensor, p: Tensor, batch: ListBatch) -> dict[str, Tensor]:
        cos = _cos_lists(q, p, batch)
        rows = torch.arange(batch.size, device=cos.device)
        pos = batch.positive_pos()
        scores = batch.scores.to(cos.dtype)
        student = cos[rows, pos].unsqueeze(1) - cos
        teacher = scores[rows, pos].unsqueeze(1) - scores
        valid = batch.list_mask.clone()
        valid[rows, pos] = False
        err = (student - teacher).pow(2)[valid]
        return {"marginmse": err.mean() if err.numel() else cos.sum() * 0}


def build_loss(name: LossName, cfg: LossConfig) -> nn.Module:
    """The loss module registered under ``name``."""
    if name == "listwise":
        return ListwiseKL(cfg.student_temperature, cfg.teacher_temperature)
    if name == "infonce":
        return InfoNCE(cfg.infonce_temperature, cfg.false_negative_ratio, "infonce")
    if name == "infonce_plain":
        return InfoNCE(cfg.infonce_temperature, None, "infonce_plain")
    if name == "marginmse":
        return MarginMSE()
    raise ConfigError(f"unknown loss '{name}' (known: listwise, infonce, infonce_plain, "
                      "marginmse)")


class Objective(nn.Module):
    """Weighted sum of named losses; returns every component plus ``loss`` (the total)."""

    def __init__(self, weights: dict[LossName, float], cfg: LossConfig | None = None):
        super().__init__()
        cfg = cfg or LossConfig()
        self.weights = {k: float(w) for k, w in weights.items() if w}
        self.parts = nn.ModuleDict({k: build_loss(k, cfg) for k in self.weights})

    def forward(self, q: Tensor, p: Tensor, batch: ListBatch) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        for part in self.parts.values():
            out.update(part(q, p, batch))
        out["loss"] = sum(self.weights[k] * out[k] for k in self.weights)
        return out
