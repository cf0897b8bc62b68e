"""corpusfit's losses behind sentence-transformers' loss signature.

One implementation, two doors: these classes embed the columns with the
sentence-transformers model, build the same :class:`~corpusfit.train.losses.ListBatch`
corpusfit's own trainer builds, and call the same :class:`~corpusfit.train.losses.Objective`.

Dataset layout (what ``corpusfit export --format sentence-transformers`` writes)::

    query | positive | negative_1 ... negative_n | scores

``scores`` holds the normalized teacher score of every passage column in order
(positive first); NaN marks a padded entry. Passages of the same text anywhere in
the batch count once as negatives, as in corpusfit's trainer.

    loss = ListwiseKLLoss(model)                       # the listwise distillation alone
    loss = ObjectiveLoss(model, {"listwise": 1, "infonce": 0.1})   # corpusfit's default
    loss = CachedObjectiveLoss(model, mini_batch_size=16)  # GradCache (st_cached_loss)
    SentenceTransformerTrainer(model=model, train_dataset=ds, loss=loss).train()
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from corpusfit.errors import ConfigError
from corpusfit.train.config import LossConfig, LossName
from corpusfit.train.losses import ListBatch, Objective


def _doc_keys(passage_features: list[dict[str, Tensor]]) -> Tensor:
    """``[P]`` identity of each passage row (column-major): equal token ids = same key."""
    if not all("input_ids" in f for f in passage_features):
        n = sum(len(next(iter(f.values()))) for f in passage_features)
        return torch.arange(n)
    width = max(f["input_ids"].shape[1] for f in passage_features)
    # Padding zeroed by the attention mask: one text pads alike in columns of any width.
    rows = torch.cat([F.pad(f["input_ids"] * f.get("attention_mask", 1),
                            (0, width - f["input_ids"].shape[1])) for f in passage_features])
    return torch.unique(rows, dim=0, return_inverse=True)[1]


def list_batch(passage_features: list[dict[str, Tensor]], labels: Tensor) -> ListBatch:
    """The ListBatch of ``B`` queries whose lists are the passage columns, in order.

    Passage rows are stacked column by column (column ``c`` of query ``b`` is row
    ``c * B + b``), as :func:`torch.cat` of the column embeddings lays them out.
    """
    n_q, n_cols = labels.shape
    if n_cols != len(passage_features):
        raise ConfigError(f"teacher scores have {n_cols} entries per row but the dataset has "
                          f"{len(passage_features)} passage columns")
    idx = torch.arange(n_q * n_cols, device=labels.device).view(n_cols, n_q).T
    mask = torch.isfinite(labels)
    keys = _doc_keys(passage_features).to(labels.device)
    return ListBatch(idx, mask, labels.nan_to_num(0.0), keys)


class ObjectiveLoss(nn.Module):
    """A weighted sum of corpusfit losses, with the sentence-transformers signature."""

    def __init__(self, model: nn.Module, objective: dict[LossName, float] | None = None,
                 loss_config: LossConfig | None = None):
        super().__init__()
        self.model = model
        self.objective = Objective(objective or {"listwise": 1.0}, loss_config or LossConfig())

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor,
                                     passage_features: list[dict[str, Tensor]]) -> Tensor:
        batch = list_batch(passage_features, labels.to(embeddings[0].dtype))
        return self.objective(embeddings[0], torch.cat(embeddings[1:]), batch)["loss"]

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        features = list(sentence_features)
        embeddings = [self.model(f)["sentence_embedding"] for f in features]
        return self.compute_loss_from_embeddings(embeddings, labels, features[1:])

    def get_config_dict(self) -> dict:
        """Shown in the model card sentence-transformers writes."""
        return {"objective": dict(self.objective.weights)}


class ListwiseKLLoss(ObjectiveLoss):
    """KL(teacher || student) over each query's list (corpusfit's listwise distillation)."""

    def __init__(self, model: nn.Module, loss_config: LossConfig | None = None):
        super().__init__(model, {"listwise": 1.0}, loss_config)


class MaskedInfoNCELoss(ObjectiveLoss):
    """InfoNCE over every passage of the batch, teacher-scored false negatives masked.

    With ``mask_false_negatives=False`` it is the plain in-batch InfoNCE.
    """

    def __init__(self, model: nn.Module, loss_config: LossConfig | None = None,
                 mask_false_negatives: bool = True):
        name = "infonce" if mask_false_negatives else "infonce_plain"
        super().__init__(model, {name: 1.0}, loss_config)
