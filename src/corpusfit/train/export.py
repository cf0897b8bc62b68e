"""Export: the kept weights -> the model folder (``SentenceTransformer.save``) and its card."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from corpusfit.models import resolve_model
from corpusfit.train.card import write_card
from corpusfit.train.checkpoint import TrainState, load_best
from corpusfit.train.selection import selection_result
from corpusfit.train.session import Session, TrainResult
from corpusfit.train.trainer import check_weights_finite

if TYPE_CHECKING:
    from corpusfit.train.trainer import Trainer

logger = logging.getLogger(__name__)


def finalize(tr: Trainer, run: Session, out: Path, mode: str, state: TrainState,
             result: TrainResult) -> None:
    """Best weights (the base model's when it won) -> the model folder ``out`` and its card."""
    from corpusfit.train.evaluation import evaluate_student

    cfg, encoder = run.cfg, tr.encoder
    load_best(run.state_dir, encoder.model)
    check_weights_finite(encoder.model)
    chosen = selection_result(state.dev_history, state.base_dev, state.best_epoch,
                              cfg.keep_base_if_better)
    for key, value in chosen.items():
        setattr(result, key, value)
    base = resolve_model(cfg.student)
    encoder.save(out)
    metrics = None
    if cfg.eval_data:
        cache = cfg.cache_dir or str(run.state_dir / "cache")
        metrics = evaluate_student(base, out, cfg.eval_data, cache)
    summary = {"mode": mode, "steps": state.global_step, "epochs": state.epoch,
               **chosen, "stopped": state.stopped, "seconds": round(state.elapsed, 1),
               "lr": tr.lr, "processes": run.ctx.world}
    write_card(out, base_model=cfg.student, base_path=base, mode=mode,
               config=cfg.model_dump(mode="json"), counts=result.counts,
               history=state.dev_history, summary=summary, metrics=metrics, result=chosen)
    if not cfg.keep_checkpoint:
        shutil.rmtree(run.state_dir, ignore_errors=True)
    logger.info("model written to %s (%s; kept the %s model)", out, state.stopped,
                chosen["kept"])
