"""The train stage's work: lists + student -> a fine-tuned sentence-transformers model.

Folder layout (:mod:`corpusfit.train.session`): ``model/`` is the model a user takes
away (what ``SentenceTransformer.save`` writes, plus ``README.md``, the model card);
beside it ``train_log.jsonl`` (every loss component per step, dev losses per epoch),
``train_state/`` (the resumable checkpoint and the best weights, while training) and
the stage's records (``manifest.json``, ``.pipeline.json``).

The student is any model sentence-transformers loads; its own module list does every
forward pass. Full mode trains all of it (a Router model: each route on its own kind of
text). Query-only mode trains a query route against frozen passage vectors: a model
without a Router becomes ``Router.for_query_document`` over a *copy* of its modules
(query) and the modules themselves (document, frozen), whose passage embeddings are
computed once (disk-cached) before training. A copy rather than shared weights, because
any update to shared weights would change the passage embeddings and force re-indexing
the corpus; the saved folder holds both routes, so it stays one movable folder.

Never worse (``keep_base_if_better``, see :mod:`corpusfit.train.selection`): the base
model's dev loss is recorded as epoch 0 before the first step and competes with every
checkpoint; when it wins, the exported folder holds the base model's weights. A warm start
(``init: previous``, :mod:`corpusfit.train.warmstart`) loads the previous model's weights
after the base model is scored, scores them too (a second epoch-0 record, ``model:
previous``) and trains from them: base, previous and every checkpoint compete.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm

from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.train.checkpoint import (
    BEST,
    CHECKPOINT,
    TrainState,
    load_checkpoint,
    rewind_log,
    save_best,
    save_checkpoint,
)
from corpusfit.train.config import TrainConfig
from corpusfit.train.data import TrainData, epoch_order, load_training_data, step_batches
from corpusfit.train.distributed import (
    DistContext,
    any_process,
    close_distributed,
    from_main,
    init_distributed,
)
from corpusfit.train.export import finalize, recover_folder
from corpusfit.train.session import (
    LOG,
    MODEL_DIR,
    PREVIOUS,
    STATE_DIR,
    Session,
    TrainResult,
    model_dir,
)
from corpusfit.train.trainer import Trainer, build_passage_bank
from corpusfit.train.warmstart import load_previous, plan_start
from corpusfit.workspace import JsonlAppender

logger = logging.getLogger(__name__)


def train_model(config: TrainConfig, lists: str | Path, corpus: str | Path, out: str | Path, *,
                fingerprint: dict, on_step: Callable[[int], None] | None = None,
                show_progress: bool = True) -> TrainResult:
    """Train (or resume from the checkpoint of the same ``fingerprint``) into ``out``.

    The train stage (:mod:`corpusfit.stages.train`) calls this when its folder is not up
    to date.

    Args:
        config: the stage config.
        lists: ``lists.jsonl`` of :class:`~corpusfit.data.artifacts.TrainingList`.
        corpus: the corpus the lists' doc ids refer to (any ``load_corpus`` format).
        out: the stage's folder; the model goes into its ``model/`` subfolder.
        fingerprint: the stage's fingerprint; a checkpoint of another one is not resumed.
        on_step: called with the global step after each optimizer step (and checkpoint).
        show_progress: tqdm bars.
    """
    invoked = time.monotonic()
    ctx, device = init_distributed(config.device)
    config = config.resolved(torch.device(device).type)  # the CPU or GPU recipe for "auto"
    out = Path(out)
    fp = fingerprint
    below = config.loss.false_negative_ratio if config.hard_negative_slot else None
    data = load_training_data(lists, corpus, passages=config.passages_per_query,
                              negative_below=below)
    state_dir = out / STATE_DIR
    recover_folder(model_dir(out))
    start = plan_start(config, out, Path(lists), data, fp, write=ctx.is_main)
    data = start.apply(data)
    trainer, mode = _build_trainer(config, data, ctx, device, state_dir, show_progress)
    state = load_checkpoint(state_dir, trainer.encoder.model, trainer.optimizer, fp)
    run = Session(config, data, ctx, state_dir, None, fp, on_step, show_progress, start=start)
    if ctx.is_main:
        _prepare_folder(out, state)
        run.log = JsonlAppender(out / LOG)
    logger.info("training %s (%s, from the %s model) on %d queries: %d steps, lr %.2g, "
                "%d queries/step", config.student, mode, start.init, len(data.train),
                trainer.total_steps, trainer.lr, config.queries_per_step)
    try:
        if state is None:
            state = TrainState()
            _score_start(trainer, state, run, out)
        _set_budget(run, trainer, invoked)
        state = _train_epochs(trainer, state, run)
    finally:
        if run.log is not None:
            run.log.close()
    result = TrainResult(model_dir(out), False, mode, state.global_step, stopped=state.stopped,
                         seconds=round(state.elapsed, 1), init=start.init,
                         counts={**data.counts(), **start.counts()})
    if ctx.is_main:
        finalize(trainer, run, model_dir(out), mode, state, result, Path(corpus))
    ctx.barrier()
    close_distributed(ctx)
    return result


def _build_trainer(config: TrainConfig, data: TrainData, ctx: DistContext, device: str,
                   state_dir: Path, show_progress: bool) -> tuple[Trainer, str]:
    """Student, optional frozen passage bank (query-only), optimizer and schedule length."""
    mode = config.resolved_mode()
    encoder = DenseEncoder.load(config.student, config.encoder_options(), device=device,
                                precision=config.precision, query_only=mode == "query_only")
    bank = None
    if mode == "query_only":  # before any checkpoint is loaded: these are base-model vectors
        cache = config.cache_dir or state_dir / "cache"
        bank = build_passage_bank(encoder, data, cache, ctx, show_progress)
    n_batches = len(step_batches(list(range(len(data.train))), config.queries_per_step,
                                 ctx.world))
    return Trainer(config, data, encoder, ctx, config.epochs * n_batches, bank,
                   steps_per_epoch=n_batches), mode


def _set_budget(run: Session, tr: Trainer, invoked: float) -> None:
    """The time left to train: the budget covers the whole invocation (passage encoding
    and the base model's dev loss included)."""
    budget = run.cfg.time_budget(tr.encoder.device.type)
    if budget is not None:
        run.budget = max(0.0, budget - (time.monotonic() - invoked))
        run.budget_minutes = budget / 60


def _score_start(tr: Trainer, state: TrainState, run: Session, out: Path) -> None:
    """The base model's dev loss, then (warm start) the previous model's, whose weights
    training starts from; with keep_base_if_better each competes with the checkpoints."""
    _score_base(tr, state, run)
    if run.start is None or run.start.init != PREVIOUS:
        return
    load_previous(tr.encoder.model, out, run.cfg)
    if not run.data.dev:
        return
    state.previous_dev = _dev_record(tr, state, run, epoch=0, model=PREVIOUS)
    logger.info("previous model: dev loss %.4f (before training)", state.previous_dev)
    if run.cfg.keep_base_if_better and (state.best_dev is None
                                        or state.previous_dev < state.best_dev):
        state.best_dev, state.best_epoch, state.best_model = state.previous_dev, 0, PREVIOUS
        if run.ctx.is_main:
            save_best(run.state_dir, tr.encoder.model)


def _score_base(tr: Trainer, state: TrainState, run: Session) -> None:
    """The untrained student's dev loss (epoch 0); with keep_base_if_better, the first best."""
    if not run.data.dev:
        return
    state.base_dev = _dev_record(tr, state, run, epoch=0)
    logger.info("base model: dev loss %.4f (before training)", state.base_dev)
    if run.cfg.keep_base_if_better:
        state.best_dev, state.best_epoch, state.best_model = state.base_dev, 0, "base"
        if run.ctx.is_main:
            save_best(run.state_dir, tr.encoder.model)


# Kept when a fresh start clears a folder of an earlier layout (the model at its top level).
_KEEP = {".pipeline.json", LOG, STATE_DIR, MODEL_DIR}


def _prepare_folder(out: Path, state: TrainState | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if state is not None:
        rewind_log(out / LOG, state)
        return
    # A fresh start: nothing of an older run may leak in.
    (out / LOG).unlink(missing_ok=True)
    for name in (CHECKPOINT, BEST):
        (out / STATE_DIR / name).unlink(missing_ok=True)
    if (out / "modules.json").exists():  # corpusfit 0.1.0 wrote the model into this folder
        logger.info("%s: moving to the new layout (model in %s/)", out, MODEL_DIR)
        for entry in out.iterdir():
            if entry.name not in _KEEP:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _train_epochs(tr: Trainer, state: TrainState, run: Session) -> TrainState:
    cfg, data, ctx = run.cfg, run.data, run.ctx
    start = time.time() - state.elapsed
    began = time.monotonic()
    while not state.stopped:
        batches = step_batches(epoch_order(len(data.train), cfg.seed, state.epoch),
                               cfg.queries_per_step, ctx.world)
        bar = tqdm(total=len(batches), initial=state.batch_in_epoch, unit="step",
                   desc=f"epoch {state.epoch + 1}/{cfg.epochs}",
                   disable=not (run.show_progress and ctx.is_main))
        while state.batch_in_epoch < len(batches):
            lists = [data.train[i] for i in batches[state.batch_in_epoch]]
            parts = tr.train_step(lists, state.global_step,
                                  _schedule_step(tr, state, run, time.monotonic() - began))
            state.global_step += 1
            state.batch_in_epoch += 1
            state.elapsed = time.time() - start
            _log(run, {"step": state.global_step, "epoch": state.epoch + 1,
                       "queries": len(lists), **parts, "seconds": round(state.elapsed, 2)})
            bar.update(1)
            bar.set_postfix(loss=f"{parts['loss']:.4f}")
            if state.global_step % cfg.checkpoint_every == 0:
                _checkpoint(tr, state, run)
            if run.on_step is not None:
                run.on_step(state.global_step)
            over = run.budget is not None and time.monotonic() - began > run.budget
            if any_process(over, ctx, str(tr.encoder.device)):
                state.stopped = f"time budget of {run.budget_minutes:g} min reached"
                break
        bar.close()
        _end_epoch(tr, state, run)
        state.elapsed = time.time() - start
        _checkpoint(tr, state, run)
    return state


def _schedule_step(tr: Trainer, state: TrainState, run: Session, spent: float) -> int:
    """The lr schedule's position: the step, or further on when time runs out first."""
    if run.budget is None:
        return state.global_step
    frac = from_main(spent / max(run.budget, 1e-9), run.ctx, str(tr.encoder.device))
    return max(state.global_step, int(frac * tr.total_steps))


def _dev_record(tr: Trainer, state: TrainState, run: Session, epoch: int,
                model: str | None = None) -> float | None:
    """Dev loss components of the current weights, logged and kept in the history
    (``model``: which model an epoch-0 record scores, when it is not the base model)."""
    dev = tr.evaluate(run.data.dev) if run.data.dev else {}
    record = {"event": "dev", "epoch": epoch, "step": state.global_step,
              **({"model": model} if model else {}),
              **{f"dev_{k}": round(v, 6) for k, v in dev.items()}}
    state.dev_history.append(record)
    _log(run, record)
    return dev.get("loss")


def _end_epoch(tr: Trainer, state: TrainState, run: Session) -> None:
    """Dev loss, best checkpoint, early stopping; then move to the next epoch."""
    cfg = run.cfg
    loss = _dev_record(tr, state, run, epoch=state.epoch + 1)
    if loss is None or state.best_dev is None or loss < state.best_dev:
        state.best_dev, state.best_epoch, state.bad_epochs = loss, state.epoch + 1, 0
        state.best_model = "trained"
        if run.ctx.is_main:
            save_best(run.state_dir, tr.encoder.model)
    else:
        state.bad_epochs += 1
        if state.bad_epochs >= cfg.patience and not state.stopped:
            state.stopped = f"early stopping (no dev improvement in {cfg.patience} epochs)"
    if loss is not None:
        logger.info("epoch %d: dev loss %.4f (best %.4f, epoch %s)", state.epoch + 1, loss,
                    state.best_dev, state.best_epoch)
    state.epoch += 1
    state.batch_in_epoch = 0
    if state.epoch >= cfg.epochs and not state.stopped:
        state.stopped = "all epochs done"


def _log(run: Session, record: dict) -> None:
    if run.log is not None:
        run.log.add(record)
        run.log.flush()


def _checkpoint(tr: Trainer, state: TrainState, run: Session) -> None:
    if run.ctx.is_main:
        save_checkpoint(run.state_dir, state, tr.encoder.model, tr.optimizer, run.fp)
    run.ctx.barrier()
