"""corpusfit's losses behind sentence-transformers' signature: same maths, and they train."""

from __future__ import annotations

import math

import pytest
import torch

from corpusfit.errors import ConfigError
from corpusfit.train.config import LossConfig
from corpusfit.train.losses import InfoNCE, ListBatch, ListwiseKL, Objective, build_loss
from corpusfit.train.st_cached_loss import CachedObjectiveLoss
from corpusfit.train.st_losses import ListwiseKLLoss, MaskedInfoNCELoss, ObjectiveLoss

QUERIES = ["what is lift", "heat transfer"]
# Columns: positive, negative_1, negative_2. "library index of books" is in both lists.
COLUMNS = [["lift of a wing", "heat transfer in a boundary layer"],
           ["library index of books", "drag of an airfoil"],
           ["shock and boundary layer", "library index of books"]]
SCORES = [[1.0, 0.7, 0.2], [1.0, 0.3, float("nan")]]  # NaN: query 1 has a 2-passage list
WEIGHTS = {"listwise": 1.0, "infonce": 0.1, "marginmse": 0.5}


@pytest.fixture
def st_model(tiny_bert):
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    return SentenceTransformer(str(tiny_bert), device="cpu")


def _features(model):
    return [model.preprocess(texts) for texts in [QUERIES, *COLUMNS]]


def test_constructor_defaults_are_the_configs():
    cfg = LossConfig()
    kl, nce = ListwiseKL(), InfoNCE()
    assert (kl.ts, kl.tt) == (cfg.student_temperature, cfg.teacher_temperature)
    assert (nce.t, nce.ratio) == (cfg.infonce_temperature, cfg.false_negative_ratio)


def test_unknown_loss_name_is_rejected():
    with pytest.raises(ConfigError, match="unknown loss 'marginmsee'"):
        build_loss("marginmsee", LossConfig())


def test_st_door_equals_corpusfit_door(st_model):
    st_model.eval()  # no dropout: both doors see the same embeddings
    labels = torch.tensor(SCORES)
    st_loss = ObjectiveLoss(st_model, WEIGHTS)(_features(st_model), labels)
    # corpusfit's door: the same embeddings, the ListBatch its trainer would build.
    emb = [st_model(f)["sentence_embedding"] for f in _features(st_model)]
    texts = [t for col in COLUMNS for t in col]  # column-major, as the ST door stacks them
    keys = torch.tensor([texts.index(t) for t in texts])
    batch = ListBatch(list_idx=torch.tensor([[0, 2, 4], [1, 3, 5]]),
                      list_mask=torch.tensor([[True, True, True], [True, True, False]]),
                      scores=torch.tensor([[1.0, 0.7, 0.2], [1.0, 0.3, 0.0]]), doc_keys=keys)
    ours = Objective(WEIGHTS)(emb[0], torch.cat(emb[1:]), batch)
    assert st_loss.item() == pytest.approx(ours["loss"].item(), rel=1e-6)
    assert keys.tolist() == [0, 1, 2, 3, 4, 2]  # the duplicate passage counts once


def test_cached_equals_uncached_loss_and_gradients(st_model):
    st_model.eval()  # no dropout, so the two runs compare exactly
    labels = torch.tensor(SCORES)
    params = [p for name, p in st_model.named_parameters() if "pooler" not in name]
    grads = []
    for loss_fn in (ObjectiveLoss(st_model, WEIGHTS),
                    CachedObjectiveLoss(st_model, WEIGHTS, mini_batch_size=1)):
        st_model.zero_grad()
        loss = loss_fn(_features(st_model), labels)
        loss.backward()
        grads.append((loss.item(), [p.grad.clone() for p in params]))
    (plain, g_plain), (cached, g_cached) = grads
    assert cached == pytest.approx(plain, rel=1e-6)
    # fp32 sums in another order (mini-batches): equal to a few ulps of gradients of size ~1
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-5)
               for a, b in zip(g_plain, g_cached, strict=True))


@pytest.mark.parametrize("make_loss", [
    ListwiseKLLoss, MaskedInfoNCELoss, lambda m: ObjectiveLoss(m, WEIGHTS),
    lambda m: CachedObjectiveLoss(m, {"listwise": 1.0, "infonce": 0.1}, mini_batch_size=2),
], ids=["listwise", "masked-infonce", "objective", "cached-objective"])
def test_trains_in_sentence_transformers_trainer(st_model, make_loss, tmp_path):
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

    rows = 8
    data = Dataset.from_dict({
        "query": (QUERIES * rows)[:rows],
        "positive": (COLUMNS[0] * rows)[:rows],
        "negative_1": (COLUMNS[1] * rows)[:rows],
        "negative_2": (COLUMNS[2] * rows)[:rows],
        "scores": (SCORES * rows)[:rows],
    })
    before = [p.detach().clone() for p in st_model.parameters()]
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path), max_steps=3, per_device_train_batch_size=4,
        learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to=[],
        use_cpu=True, seed=0, disable_tqdm=True)
    trainer = SentenceTransformerTrainer(model=st_model, args=args, train_dataset=data,
                                         loss=make_loss(st_model))
    trainer.train()
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
    assert any(not torch.equal(a, b) for a, b in zip(before, st_model.parameters(),
                                                      strict=True))
