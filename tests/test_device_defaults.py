"""Batch sizes set to `auto` resolve per device: CPU-sized on a CPU, larger on a GPU."""

from __future__ import annotations

import pytest

from corpusfit.teach.config import teacher_config
from corpusfit.train.config import TrainConfig


def test_queries_per_step_auto_is_16_on_a_cpu_and_64_on_a_gpu():
    cfg = TrainConfig()
    assert cfg.queries_per_step == "auto"
    assert cfg.resolved("cpu").queries_per_step == 16
    assert cfg.resolved("cuda").queries_per_step == 64
    assert TrainConfig(queries_per_step=8).resolved("cuda").queries_per_step == 8
    assert cfg.resolved("cpu").learning_rate() == pytest.approx(2e-5)
    assert cfg.resolved("cuda").learning_rate() == pytest.approx(2.5e-5)
    with pytest.raises(ValueError, match="resolved"):
        cfg.learning_rate()


def test_teacher_batch_auto_is_16_on_a_cpu_and_128_on_a_gpu():
    auto = teacher_config(kind="cross-encoder", model="some/model")
    assert auto.batch_size == "auto"
    assert auto.batch_for("cpu") == 16 and auto.batch_for("cuda") == 128
    fixed = teacher_config(kind="t5", model="some/model", batch_size=4)
    assert fixed.batch_for("cpu") == fixed.batch_for("cuda") == 4
    # runtime only: the batch size never changes the teacher's identity (its score cache)
    assert auto.teacher_id() == auto.model_copy(update={"batch_size": 7}).teacher_id()


def test_gradcache_auto_is_off_for_small_steps_and_on_for_large_ones():
    cfg = TrainConfig()
    assert cfg.gradcache == "auto"
    assert cfg.resolved("cpu").gradcache is False  # 16 queries x (4 + 1) = 80 <= 4 x 32 texts
    assert cfg.resolved("cuda").gradcache is True  # whole lists
    assert TrainConfig(queries_per_step=64).resolved("cpu").gradcache is True
    assert TrainConfig(gradcache=True).resolved("cpu").gradcache is True
