"""GradCache for corpusfit's objective in sentence-transformers' trainer.

Built on sentence-transformers' own GradCache machinery (``CachedLossMixin``,
sentence-transformers 6.x): embed every column in mini-batches without a graph, compute
the objective over the whole batch, then replay each mini-batch with its graph.
Memory grows with ``mini_batch_size``, not the batch, as in corpusfit's trainer
(:mod:`corpusfit.train.gradcache`).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from sentence_transformers.base.losses.gradcache import CachedLossMixin
from torch import Tensor, nn

from corpusfit.train.config import LossConfig, LossName
from corpusfit.train.losses import ListBatch
from corpusfit.train.st_losses import ObjectiveLoss, list_batch


class CachedObjectiveLoss(CachedLossMixin, ObjectiveLoss):
    """:class:`~corpusfit.train.st_losses.ObjectiveLoss` with cached gradients."""

    def __init__(self, model: nn.Module, objective: dict[LossName, float] | None = None,
                 loss_config: LossConfig | None = None, mini_batch_size: int = 32):
        ObjectiveLoss.__init__(self, model, objective, loss_config)
        self.mini_batch_size = mini_batch_size
        self._batch: ListBatch | None = None

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        features = list(sentence_features)
        # The list structure needs the token ids, which calculate_loss does not receive.
        self._batch = list_batch(features[1:], labels.float())
        return self.forward_cached(features, labels)

    def calculate_loss(self, reps: list[list[Tensor]], labels: Tensor | None = None, *,
                       with_backward: bool = False) -> Tensor:
        columns = [torch.cat(mini_batches) for mini_batches in reps]
        loss = self.objective(columns[0], torch.cat(columns[1:]), self._batch)["loss"]
        if with_backward:
            loss.backward()
            loss = loss.detach()
        return loss
