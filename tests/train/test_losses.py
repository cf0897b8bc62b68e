"""Each loss against values computed by hand on a 2-query example."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from corpusfit.train.config import LossConfig, TrainConfig
from corpusfit.train.losses import InfoNCE, ListBatch, ListwiseKL, MarginMSE, Objective

# Passages p0=(1,0), p1=(0,1), p2=(.6,.8); queries q0=(1,0), q1=(0,1).
# Query 0 lists [p0 1.0, p2 0.5]; query 1 lists [p1 1.0, p2 0.8, p0 0.2].
Q = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
P = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=torch.float64)
BATCH = ListBatch(
    list_idx=torch.tensor([[0, 2, 0], [1, 2, 0]]),
    list_mask=torch.tensor([[True, True, False], [True, True, True]]),
    scores=torch.tensor([[1.0, 0.5, 0.0], [1.0, 0.8, 0.2]], dtype=torch.float64),
    doc_keys=torch.tensor([10, 11, 12]),
)


def _kl(teacher: list[float], student: list[float]) -> float:
    zt = sum(math.exp(t) for t in teacher)
    zs = sum(math.exp(s) for s in student)
    return sum(math.exp(t) / zt * ((t - math.log(zt)) - (s - math.log(zs)))
               for t, s in zip(teacher, student, strict=True))


def _nce(pos: float, negs: list[float]) -> float:
    return -pos + math.log(math.exp(pos) + sum(math.exp(n) for n in negs))


def test_listwise_hand_computed():
    kl0 = _kl([1 / 0.3, 0.5 / 0.3], [1 / 0.05, 0.6 / 0.05])
    kl1 = _kl([1 / 0.3, 0.8 / 0.3, 0.2 / 0.3], [1 / 0.05, 0.8 / 0.05, 0.0])
    out = ListwiseKL(0.05, 0.3)(Q, P, BATCH)
    assert out["listwise"].item() == pytest.approx((kl0 + kl1) / 2, rel=1e-9)


def test_infonce_masked_hand_computed():
    # q0: negatives p1 (cos 0) and p2 (cos .6; score .5 <= .6 x 1.0).
    # q1: p2 scored .8 > .6 -> masked; negative p0 (cos 0).
    expected = (_nce(100, [0, 60]) + _nce(100, [0])) / 2
    out = InfoNCE(0.01, 0.6)(Q, P, BATCH)
    assert out["infonce"].item() == pytest.approx(expected, rel=1e-9)


def test_infonce_plain_hand_computed():
    expected = (_nce(100, [0, 60]) + _nce(100, [0, 80])) / 2
    out = InfoNCE(0.01, None, "infonce_plain")(Q, P, BATCH)
    assert out["infonce_plain"].item() == pytest.approx(expected, rel=1e-9)


def test_marginmse_hand_computed():
    # q0: (1-.6) vs (1-.5); q1: (1-.8) vs (1-.8), (1-0) vs (1-.2).
    expected = ((0.4 - 0.5) ** 2 + 0.0 + (1.0 - 0.8) ** 2) / 3
    out = MarginMSE()(Q, P, BATCH)
    assert out["marginmse"].item() == pytest.approx(expected, rel=1e-9)


def test_objective_weights_and_components():
    obj = Objective({"listwise": 1.0, "infonce": 0.1})
    out = obj(Q, P, BATCH)
    assert set(out) == {"listwise", "infonce", "loss"}
    assert out["loss"].item() == pytest.approx(
        out["listwise"].item() + 0.1 * out["infonce"].item())


def test_objective_names_validated_once():
    with pytest.raises(ValidationError):
        TrainConfig(objective={"listwize": 1.0})
    with pytest.raises(ValidationError):
        TrainConfig(objective={"listwise": 0.0})
    assert TrainConfig(objective={"marginmse": 1, "infonce_plain": 0.5}).objective


def test_mask_excludes_exactly_intended_pairs():
    # Columns: keys 1,2,3,2(duplicate of column 1, e.g. gathered from another process),4.
    batch = ListBatch(
        list_idx=torch.tensor([[0, 2, 4], [1, 0, 0], [3, 4, 0]]),
        list_mask=torch.tensor([[True, True, True], [True, True, False], [True, True, False]]),
        scores=torch.tensor([[1.0, 0.7, 0.3], [0.9, 0.1, 0.0], [1.0, 0.65, 0.0]]),
        doc_keys=torch.tensor([1, 2, 3, 2, 4]),
    )
    excluded, pos = InfoNCE(0.01, 0.6).excluded(batch)
    assert pos.tolist() == [0, 1, 1]  # query 2's positive maps to the first copy of key 2
    assert excluded.tolist() == [
        [False, False, True, True, False],  # key 3 scored .7 > .6: masked; dup column 3
        [False, False, False, True, False],  # key 1 scored .1: a real negative
        [False, False, False, True, True],  # key 4 scored .65 > .6: masked
    ]
    plain, _ = InfoNCE(0.01, None).excluded(batch)
    assert plain.tolist() == [[False, False, False, True, False]] * 3  # only the duplicate


def test_threshold_configurable():
    lenient = InfoNCE(0.01, 0.9).excluded(BATCH)[0]
    assert not lenient[1, 2]  # .8 <= .9 x 1.0: now a negative
    assert InfoNCE(0.01, 0.6).excluded(BATCH)[0][1, 2]


def test_listwise_never_underflows_and_padding_has_no_effect():
    q = torch.randn(3, 8, requires_grad=True)
    p = torch.randn(6, 8)
    batch = ListBatch(torch.tensor([[0, 1, 2], [3, 4, 0], [5, 0, 0]]),
                      torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0]], dtype=torch.bool),
                      torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
                      torch.arange(6))
    loss = ListwiseKL(1e-4, 1e-4)(q, p, batch)["listwise"]  # huge logits
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(q.grad).all()
    # Changing what sits in padded slots changes nothing.
    other = ListBatch(torch.tensor([[0, 1, 2], [3, 4, 5], [5, 2, 1]]), batch.list_mask,
                      batch.scores, batch.doc_keys)
    assert ListwiseKL(1e-4, 1e-4)(q, p, other)["listwise"].item() == pytest.approx(loss.item())


def test_loss_config_defaults():
    """The paper's, except the teacher temperature (a weak offline teacher) and InfoNCE
    (weight 1 at temperature 0.05: at the paper's 0.01 the term vanishes on CPU-size batches)."""
    cfg = LossConfig()
    assert (cfg.student_temperature, cfg.teacher_temperature, cfg.infonce_temperature,
            cfg.false_negative_ratio) == (0.05, 0.1, 0.05, 0.6)
    assert TrainConfig().objective == {"listwise": 1.0, "infonce": 1.0}
