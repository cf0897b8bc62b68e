"""What the train loop and the export share: the run's folders, session and result.

A train stage's folder holds the stage records (``manifest.json``, ``.pipeline.json``,
``train_log.jsonl``, the resumable state in ``train_state/``) and, in ``model/``, the
model a user takes away: the sentence-transformers folder and its card, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from corpusfit.train.config import TrainConfig
from corpusfit.train.data import TrainData
from corpusfit.train.distributed import DistContext
from corpusfit.workspace import JsonlAppender

MODEL_DIR = "model"
STATE_DIR = "train_state"
LOG = "train_log.jsonl"
BASE, PREVIOUS = "base", "previous"  # train.init: where training starts


def model_dir(stage_folder: str | Path) -> Path:
    """The model folder inside a train stage's folder."""
    return Path(stage_folder) / MODEL_DIR


@dataclass
class TrainResult:
    """What a train run did; ``kept`` is "base" when the base model beat every checkpoint.

    ``best_dev_loss`` and ``best_epoch`` describe the best trained checkpoint,
    ``base_dev_loss`` the untrained student (None without dev lists); with a warm start
    (``init`` "previous") ``previous_dev_loss`` is the previous model's and ``kept`` may be
    "previous".
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
    init: str = ""
    previous_dev_loss: float | None = None
    labelfree_verdict: str | None = None  # train.guard dev_loss+labelfree only
    labelfree_queries: int = 0
    vetoed_by: str = ""  # "labelfree" when that verdict made the guard keep the base model
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
                "best_epoch": self.best_epoch, "stopped": self.stopped, "seconds": self.seconds,
                **({"init": self.init} if self.init else {}),
                **({"previous_dev_loss": self.previous_dev_loss}
                   if self.previous_dev_loss is not None else {}),
                **({"labelfree_verdict": self.labelfree_verdict,
                    "labelfree_queries": self.labelfree_queries}
                   if self.labelfree_verdict is not None else {}),
                **({"vetoed_by": self.vetoed_by} if self.vetoed_by else {})}


@dataclass
class StartPlan:
    """Where one training run starts and which train lists it uses
    (:func:`corpusfit.train.warmstart.plan_start`).

    ``trained`` is the train qids to train on (None: all); ``hashes`` the hash of every
    list of this run, ``seen`` those the previous model learned from (for the lineage of
    whichever model is kept); ``queries`` / ``seen_queries`` the same for the queries
    alone; ``changed``: lists counted as replayable whose passages or scores moved.
    """

    init: str
    requested: str
    note: str = ""
    trained: list[str] | None = None
    new: int = 0
    replayed: int = 0
    left_out: int = 0
    hashes: dict[str, str] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)
    changed: int = 0
    queries: dict[str, str] = field(default_factory=dict)
    seen_queries: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict:
        """The manifest's counts on the start: the init used and, warm, the lists."""
        out: dict = {"init": self.init}
        if self.note:
            out["init_note"] = self.note
        if self.init == PREVIOUS:
            out.update(lists_new=self.new, lists_changed=self.changed,
                       lists_replayed=self.replayed, lists_left_out=self.left_out)
        return out

    def apply(self, data: TrainData) -> TrainData:
        """``data`` with only the planned train lists (dev lists all stay)."""
        if self.trained is None:
            return data
        keep = set(self.trained)
        return replace(data, train=[x for x in data.train if x.qid in keep])


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
    start: StartPlan | None = None  # where training started, which lists it uses
