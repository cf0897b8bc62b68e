"""Resumable training state: one file, written atomically, so a crash loses one interval.

No pickle: a run directory is data, and loading it must never run code. The checkpoint
is a safetensors file (model weights, optimizer tensors, RNG state) whose header
metadata holds the JSON rest (fingerprint, counters, optimizer settings). The header is
read and the fingerprint compared before any tensor is loaded; files of the older
pickle format (``checkpoint.pt``, ``best.pt``) are never opened.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from corpusfit.workspace import (
    atomic_path,
    fingerprint_matches,
    iter_jsonl_tolerant,
    write_jsonl,
)

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.safetensors"
BEST = "best.safetensors"
LEGACY = ("checkpoint.pt", "best.pt")  # pickled files of older versions: deleted, never read
_META = "corpusfit"


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
    previous_dev: float | None = None  # init previous: the previous model's dev loss
    best_model: str = ""  # base | previous | trained ("" in older checkpoints: by best_epoch)
    bad_epochs: int = 0
    dev_history: list[dict] = field(default_factory=list)
    stopped: str = ""  # why training ended ("" while running)


def _tensors(prefix: str, state: dict) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies; tied weights (one storage, two names) get a copy each."""
    out, seen = {}, set()
    for name, t in state.items():
        t = t.detach().cpu()
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        out[prefix + name] = t.clone().contiguous() if key in seen else t.contiguous()
        seen.add(key)
    return out


def _split_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state -> (tensors by ``optimizer.<param>.<key>``, JSON-able rest)."""
    tensors, scalars = {}, {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for idx, entry in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(entry)
    groups = [{**g, **({"betas": tuple(g["betas"])} if "betas" in g else {})}
              for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_checkpoint(folder: Path, state: TrainState, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, fingerprint: dict) -> None:
    """Everything needed to continue exactly, in one atomically renamed file."""
    opt_tensors, opt_meta = _split_optimizer(optimizer.state_dict())
    # Dropout RNG is re-derived from (seed, rank, step) each step; saved for reference.
    tensors = {**_tensors("model.", model.state_dict()), **opt_tensors,
               "rng": torch.get_rng_state()}
    meta = {"state": asdict(state), "fingerprint": fingerprint, "optimizer": opt_meta}
    with atomic_path(folder / CHECKPOINT) as tmp:
        save_file(tensors, str(tmp), metadata={_META: json.dumps(meta)})
    logger.debug("checkpoint at step %d", state.global_step)


def _read_meta(path: Path) -> dict | None:
    """The JSON header only (no tensor is read); None when it is not ours or unreadable."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return json.loads((f.metadata() or {})[_META])
    except Exception as e:  # noqa: BLE001 - a damaged file means: start over
        logger.warning("%s is unreadable (%s); starting over", path, e)
        return None


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    fingerprint: dict) -> TrainState | None:
    """Restore model and optimizer from the last checkpoint of the same run, if any."""
    for name in LEGACY:
        if (folder / name).exists():
            logger.warning("%s: pickled state of an older version, not loaded; deleting it",
                           folder / name)
            (folder / name).unlink()
    path = folder / CHECKPOINT
    if not path.exists():
        return None
    meta = _read_meta(path)
    if meta is None or not fingerprint_matches(meta.get("fingerprint"), fingerprint):
        if meta is not None:
            logger.warning("%s belongs to another config or input; starting over", path)
        return None
    tensors = load_file(str(path))
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items()
                           if k.startswith("model.")})
    optimizer.load_state_dict(_join_optimizer(tensors, meta["optimizer"]))
    state = TrainState(**meta["state"])
    logger.info("resuming from step %d (epoch %d, batch %d)", state.global_step,
                state.epoch + 1, state.batch_in_epoch)
    return state


def save_best(folder: Path, model: torch.nn.Module) -> None:
    with atomic_path(folder / BEST) as tmp:
        save_file(_tensors("", model.state_dict()), str(tmp))


def load_best(folder: Path, model: torch.nn.Module) -> bool:
    path = folder / BEST
    if not path.exists():
        return False
    model.load_state_dict(load_file(str(path)))
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
