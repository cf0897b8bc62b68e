"""Resumable training state: one file, written atomically, so a crash loses one interval."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from corpusfit.workspace import atomic_path, iter_jsonl_tolerant, write_jsonl

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"


@dataclass
class TrainState:
    """Counters and history; the model and optimizer state travel beside it."""

    epoch: int = 0
    batch_in_epoch: int = 0  # next batch of ``epoch`` to run
    global_step: int = 0  # optimizer steps done; also the lr schedule's position
    elapsed: float = 0.0
    base_dev: float | None = None  # the untrained student's dev loss (scored before step 1)
    best_dev: float | None = None  # dev loss of the kept weights (the base model's: epoch 0)
    best_epoch: int | None = None
    bad_epochs: int = 0
    dev_history: list[dict] = field(default_factory=list)
    stopped: str = ""  # why training ended ("" while running)


def save_checkpoint(folder: Path, state: TrainState, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, fingerprint: dict) -> None:
    """Everything needed to continue exactly, in one atomically renamed file."""
    blob = {
        "state": asdict(state), "fingerprint": fingerprint,
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        # Dropout RNG is re-derived from (seed, rank, step) each step; saved for reference.
        "rng": torch.get_rng_state(),
    }
    with atomic_path(folder / CHECKPOINT) as tmp:
        torch.save(blob, tmp)
    logger.debug("checkpoint at step %d", state.global_step)


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    fingerprint: dict) -> TrainState | None:
    """Restore model and optimizer from the last checkpoint of the same run, if any."""
    path = folder / CHECKPOINT
    if not path.exists():
        return None
    blob = torch.load(path, map_location="cpu", weights_only=False)
    if blob.get("fingerprint") != fingerprint:
        logger.warning("%s belongs to another config or input; starting over", path)
        return None
    model.load_state_dict(blob["model"])
    optimizer.load_state_dict(blob["optimizer"])
    state = TrainState(**blob["state"])
    logger.info("resuming from step %d (epoch %d, batch %d)", state.global_step,
                state.epoch + 1, state.batch_in_epoch)
    return state


def save_best(folder: Path, model: torch.nn.Module) -> None:
    with atomic_path(folder / BEST) as tmp:
        torch.save(model.state_dict(), tmp)


def load_best(folder: Path, model: torch.nn.Module) -> bool:
    path = folder / BEST
    if not path.exists():
        return False
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return True


def _kept(record: dict, state: TrainState) -> bool:
    step = record.get("step", 0)
    if record.get("event") == "dev":  # a dev record at the checkpoint's step is kept only
        return step < state.global_step or (step == state.global_step  # if the epoch ended
                                            and state.batch_in_epoch == 0)
    return step <= state.global_step


def rewind_log(path: Path, state: TrainState) -> None:
    """Drop log records written after the checkpoint (those steps will be redone)."""
    if not path.exists():
        return
    keep = [r for r in iter_jsonl_tolerant(path) if _kept(r, state)]
    write_jsonl(path, keep)
