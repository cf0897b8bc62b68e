"""Export: the kept weights -> the model folder (``SentenceTransformer.save``) and its card.

The new folder is written beside the old one (``.model.new``) and swapped in by two
renames (:func:`replace_folder`), so the model an earlier run kept (a warm start's
previous model) is never overwritten before the new one is complete; its lineage record
(:mod:`corpusfit.train.warmstart`) follows.
"""

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
from corpusfit.train.warmstart import write_lineage

if TYPE_CHECKING:
    from corpusfit.train.trainer import Trainer

logger = logging.getLogger(__name__)


def _labelfree_guard(cfg, staged: Path, corpus: Path, chosen: dict, encoder, run) -> None:
    """``train.guard: dev_loss+labelfree``: a "worse" label-free verdict on the probe
    queries replaces the staged model with the base model (:mod:`.labelfree_guard`)."""
    from corpusfit.retrieve.encoder import DenseEncoder
    from corpusfit.train.labelfree_guard import apply_veto, labelfree_verdict

    if chosen.get("kept") != "trained":
        return
    cache = cfg.cache_dir or str(run.state_dir / "cache")
    verdict = labelfree_verdict(cfg.student, staged, corpus, Path(cfg.probe_queries), cache)
    if apply_veto(chosen, verdict):
        shutil.rmtree(staged)
        DenseEncoder.load(cfg.student, cfg.encoder_options(),
                          device=str(encoder.device)).save(staged)


def finalize(tr: Trainer, run: Session, out: Path, mode: str, state: TrainState,
             result: TrainResult, corpus: Path | None = None) -> None:
    """Best weights (the base model's when it won) -> the model folder ``out`` and its card.

    ``corpus``: the training corpus, which the label-free guard searches."""
    from corpusfit.train.evaluation import evaluate_student

    cfg, encoder = run.cfg, tr.encoder
    load_best(run.state_dir, encoder.model)
    check_weights_finite(encoder.model)
    chosen = selection_result(state.dev_history, state.base_dev, state.best_epoch,
                              cfg.keep_base_if_better, kept_model=state.best_model or None,
                              previous_dev=state.previous_dev)
    for key, value in chosen.items():
        setattr(result, key, value)
    base = resolve_model(cfg.student)
    staged = out.with_name(f".{out.name}.new")  # the previous model stays until the swap
    encoder.save(staged)
    if cfg.guard == "dev_loss+labelfree" and cfg.probe_queries and corpus is not None:
        _labelfree_guard(cfg, staged, corpus, chosen, encoder, run)
        for key, value in chosen.items():
            setattr(result, key, value)
    metrics = None
    if cfg.eval_data:
        cache = cfg.cache_dir or str(run.state_dir / "cache")
        metrics = evaluate_student(base, staged, cfg.eval_data, cache)
    summary = {"mode": mode, "steps": state.global_step, "epochs": state.epoch,
               **chosen, "stopped": state.stopped, "seconds": round(state.elapsed, 1),
               "lr": tr.lr, "processes": run.ctx.world,
               "init": run.start.init if run.start else "base"}
    write_card(staged, base_model=cfg.student, base_path=base, mode=mode,
               config=cfg.model_dump(mode="json"), counts=result.counts,
               history=state.dev_history, summary=summary, metrics=metrics, result=chosen,
               name=out.name)
    replace_folder(staged, out)
    write_lineage(out.parent, cfg, run.start, chosen["kept"])
    if not cfg.keep_checkpoint:
        shutil.rmtree(run.state_dir, ignore_errors=True)
    logger.info("model written to %s (%s; kept the %s model)", out, state.stopped,
                chosen["kept"])


def _old(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def replace_folder(staged: Path, target: Path) -> None:
    """Swap the finished folder ``staged`` in at ``target`` (the old one renamed aside,
    then removed); :func:`recover_folder` undoes a crash between the two renames."""
    old = _old(target)
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def recover_folder(target: Path) -> None:
    """Bring back the folder a crash in :func:`replace_folder` left renamed aside."""
    old = _old(target)
    if not target.exists() and old.is_dir():
        logger.warning("%s: brought back from %s (an export was interrupted)", target, old)
        old.rename(target)
