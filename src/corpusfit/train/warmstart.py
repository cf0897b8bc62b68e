"""Warm start (``train.init: previous``): train from the model this stage kept last time,
on the lists that are new or changed since then plus a replayed share of the others.

After every export the stage folder gets ``lineage.json`` beside ``model/``: the student
(name and fingerprint), the mode, a digest of the model's weight files and one hash per
list the kept model has learned from (``{qid: hash}``; a kept base model has learned from
none). A list's hash covers what it teaches (query, type, source, split, the passages in
teacher order and the teacher's raw scores), not its normalized scores: those shift with
every list the label stage adds (its percentiles run over all scores), which changes no
list's content.

:func:`plan_start` decides where one run starts. With ``init: previous`` it takes the
previous model when its record matches the folder (the weight digest) and the config (the
same student, the same mode), else it falls back to the base model and logs why; the
train lists are then those whose hash is new plus a seeded ``train.replay`` share of the
unchanged ones. The plan is kept in ``train_state/plan.json`` under the stage fingerprint,
so that a resumed run trains on the same lists.
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict
from pathlib import Path

import torch

from corpusfit.errors import CorpusfitError, DataError
from corpusfit.models import resolve_model
from corpusfit.train.config import TrainConfig
from corpusfit.train.data import TrainData
from corpusfit.train.session import BASE, PREVIOUS, STATE_DIR, StartPlan, model_dir
from corpusfit.workspace import (
    config_hash,
    file_sha256,
    fingerprint_matches,
    iter_jsonl_tolerant,
    read_json,
    write_json,
)

logger = logging.getLogger(__name__)

LINEAGE = "lineage.json"
PLAN = "plan.json"
# The fields of a list that say what it teaches (see the module docstring).
TAUGHT = ("query", "type", "source_id", "split", "doc_ids", "raw_scores")
WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt"}


def list_hash(raw: dict) -> str:
    """Hash of what one ``lists.jsonl`` record teaches (:data:`TAUGHT`)."""
    return config_hash({k: raw.get(k) for k in TAUGHT})


def list_hashes(lists: Path) -> dict[str, str]:
    """qid -> :func:`list_hash` of every record of a lists file."""
    return {str(r.get("qid")): list_hash(r) for r in iter_jsonl_tolerant(lists)}


def weights_digest(folder: Path) -> str:
    """Content hash of a model folder's weight files (relative names and bytes)."""
    parts = [f"{f.relative_to(folder)}:{file_sha256(f)}" for f in sorted(folder.rglob("*"))
             if f.is_file() and f.suffix in WEIGHT_SUFFIXES]
    return config_hash(parts)


def select_replay(old: list[str], share: float, seed: int) -> list[str]:
    """A seeded ``share`` of the unchanged lists' qids (the same for the same inputs)."""
    pool = sorted(old)
    k = round(share * len(pool))
    return sorted(random.Random(f"replay:{seed}:{len(pool)}").sample(pool, k))


def student_identity(cfg: TrainConfig) -> dict:
    """The student and mode a previous model must share with this config."""
    from corpusfit.retrieve.encoder import model_fingerprint

    return {"student": cfg.student,
            "student_fingerprint": model_fingerprint(resolve_model(cfg.student)),
            "mode": cfg.resolved_mode()}


def read_lineage(out: Path) -> dict | None:
    """The folder's lineage record, or None when absent or unreadable."""
    path = Path(out) / LINEAGE
    try:
        found = read_json(path) if path.exists() else None
    except DataError:
        return None
    return found if isinstance(found, dict) else None


def _previous(cfg: TrainConfig, out: Path) -> tuple[dict | None, str]:
    """(the previous model's lineage, "") when it can start this run, else (None, why)."""
    folder = model_dir(out)
    lineage = read_lineage(out)
    if lineage is None or not folder.is_dir():
        return None, f"no previous model in {folder}"
    ours = student_identity(cfg)
    if any(lineage.get(k) != v for k, v in ours.items()):
        return None, (f"the previous model in {folder} was trained from another student or "
                      "mode")
    if lineage.get("weights") != weights_digest(folder):
        return None, f"the model in {folder} is not the one its lineage record describes"
    return lineage, ""


def _warm_plan(cfg: TrainConfig, lineage: dict, hashes: dict[str, str],
               train: list[str]) -> StartPlan:
    seen = {str(k): str(v) for k, v in (lineage.get("lists") or {}).items()}
    old = [q for q in train if seen.get(q) == hashes.get(q)]
    new = [q for q in train if seen.get(q) != hashes.get(q)]
    replayed = select_replay(old, cfg.replay, cfg.seed)
    chosen = set(new) | set(replayed)
    note = ""
    if not chosen:
        note = "no new or changed list and no list replayed: training on all lists again"
        chosen, replayed = set(train), old
    return StartPlan(PREVIOUS, cfg.init, note, [q for q in train if q in chosen], len(new),
                     len(replayed), len(old) - len(replayed), hashes, seen)


def _saved_plan(out: Path, fingerprint: dict) -> StartPlan | None:
    path = Path(out) / STATE_DIR / PLAN
    try:
        saved = read_json(path) if path.exists() else None
    except DataError:
        return None
    if not isinstance(saved, dict) or not fingerprint_matches(saved.get("fingerprint"),
                                                              fingerprint):
        return None
    try:
        return StartPlan(**saved["plan"])
    except (KeyError, TypeError):
        return None


def plan_start(cfg: TrainConfig, out: Path, lists: Path, data: TrainData, fingerprint: dict,
               write: bool = True) -> StartPlan:
    """The start of this run: a resumed run's saved plan, else a new one (saved when
    ``write``, on the main process)."""
    saved = _saved_plan(out, fingerprint)
    if saved is not None:
        return saved
    hashes = list_hashes(lists)
    train = [x.qid for x in data.train]
    plan = StartPlan(BASE, cfg.init, hashes=hashes)
    if cfg.init == PREVIOUS:
        lineage, why = _previous(cfg, out)
        if lineage is None:
            logger.info("train.init previous: %s; starting from the base model %s", why,
                        cfg.student)
            plan.note = why
        else:
            plan = _warm_plan(cfg, lineage, hashes, train)
            logger.info("starting from the previous model %s: %d new or changed lists, "
                        "%d of %d unchanged replayed", model_dir(out), plan.new,
                        plan.replayed, plan.replayed + plan.left_out)
    if write:
        write_json(Path(out) / STATE_DIR / PLAN, {"fingerprint": fingerprint,
                                                  "plan": asdict(plan)})
    return plan


def load_previous(model: torch.nn.Module, out: Path, cfg: TrainConfig) -> None:
    """Load the previous model's weights (``out/model``) into the student ``model``."""
    from corpusfit.retrieve.encoder import DenseEncoder

    folder = model_dir(out)
    prev = DenseEncoder.load(str(folder), cfg.encoder_options(), device="cpu")
    try:
        model.load_state_dict(prev.model.state_dict())
    except RuntimeError as e:
        raise CorpusfitError(f"{folder}: its weights do not fit the student {cfg.student} "
                             f"({str(e).splitlines()[0]}); train with train.init=base or "
                             "--force train") from None
    logger.info("loaded the previous model's weights from %s", folder)


def write_lineage(out: Path, cfg: TrainConfig, plan: StartPlan | None, kept: str) -> None:
    """Record what the exported model (``out/model``) has learned from; written after it."""
    if plan is None:
        lists: dict[str, str] = {}
    else:
        lists = {BASE: {}, PREVIOUS: plan.seen}.get(kept, plan.hashes)
    write_json(Path(out) / LINEAGE, {**student_identity(cfg), "kept": kept,
                                     "weights": weights_digest(model_dir(out)),
                                     "lists": lists})
