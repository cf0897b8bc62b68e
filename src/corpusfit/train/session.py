"""What the train loop and the export share: the run's folders, session and result.

A train stage's folder holds the stage records (``manifest.json``, ``.pipeline.json``,
``train_log.jsonl``, the resumable state in ``train_state/``) and, in ``model/``, the
model a user takes away: the sentence-transformers folder and its card, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from corpusfit.train.config import TrainConfig
from corpusfit.train.data import TrainData
from corpusfit.train.distributed import DistContext
from corpusfit.workspace import JsonlAppender

MODEL_DIR = "model"
STATE_DIR = "train_state"
LOG = "train_log.jsonl"


def model_dir(stage_folder: str | Path) -> Path:
    """The model folder inside a train stage's folder."""
    return Path(stage_folder) / MODEL_DIR


@dataclass
class TrainResult:
    """What a train run did; ``kept`` is "base" when the base model beat every checkpoint.

    ``best_dev_loss`` and ``best_epoch`` describe the best trained checkpoint,
    ``base_dev_loss`` the untrained student (None without dev lists).
    """

    out: Path
    skipped: bool
    mode: str = ""
    steps: int = 0
    kept: str = ""
    base_dev_loss: float | None = None
    best_dev_loss: float | None = None
    best_epoch: int | None = None
    stopped: str = ""
    seconds: float = 0.0
    counts: dict = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, out: Path, manifest: dict) -> TrainResult:
        """A skipped run's result, from the ``result`` entry of its manifest's counts."""
        counts = dict(manifest.get("counts", {}))
        record = counts.pop("result", {})
        names = {f.name for f in fields(cls)} - {"out", "skipped", "counts"}
        return cls(out, True, **{k: v for k, v in record.items() if k in names}, counts=counts)

    def record(self) -> dict:
        """The manifest's ``result`` entry, read back by :meth:`from_manifest`."""
        return {"mode": self.mode, "steps": self.steps, "kept": self.kept,
                "base_dev_loss": self.base_dev_loss, "best_dev_loss": self.best_dev_loss,
                "best_epoch": self.best_epoch, "stopped": self.stopped, "seconds": self.seconds}


@dataclass
class Session:
    """What the epoch loop needs besides the trainer."""

    cfg: TrainConfig
    data: TrainData
    ctx: DistContext
    state_dir: Path
    log: JsonlAppender | None
    fp: dict
    on_step: Callable[[int], None] | None
    show_progress: bool
    budget: float | None = None  # seconds this invocation may still train
    budget_minutes: float | None = None  # the whole invocation's budget, for messages
