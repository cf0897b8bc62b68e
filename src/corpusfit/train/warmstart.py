"""Warm start (``train.init: previous``): train from the model this stage kept last time,
on the lists of queries it has not learned plus a replayed share of the others.

After every export the stage folder gets ``lineage.json`` beside ``model/``: the student
(name and fingerprint), the mode, a digest of the model's weight files and, for every list
the kept model has learned from, two hashes (a kept base model has learned from none):
``lists`` covers what a list teaches (query, type, source, split, the passages in teacher
order and the teacher's raw scores), ``queries`` the query alone (query, type, source,
split). Normalized scores are in neither: they shift with every list the label stage adds
(its percentiles run over all scores).

:func:`plan_start` decides where one run starts. With ``init: previous`` it takes the
previous model when its record matches the folder (the weight digest) and the config (the
same student, the same mode), else it falls back to the base model and logs why. The new
lists are then, with ``warm_lists: new_queries`` (the default), those whose query hash is
not in the record (a new passage's queries, a regenerated query); with ``changed`` also
those whose passages or raw scores moved. A corpus grown by 20% moves most lists (new
passages enter their candidates, BM25's statistics and the per-query z-scores shift:
``benchmarks/incremental.py --list-changes``), so ``changed`` retrains nearly everything.
The train lists are the new ones plus a seeded ``train.replay`` share of the others, with
their current passages and scores. A record written before query hashes counts every moved
list as new. The plan is kept in ``train_state/plan.json`` under the stage fingerprint, so
that a resumed run trains on the same lists.
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
# The fields of a list that say what it teaches (see the module docstring), and those that
# say which query it is (``warm_lists: new_queries``).
TAUGHT = ("query", "type", "source_id", "split", "doc_ids", "raw_scores")
ASKED = ("query", "type", "source_id", "split")
WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt"}


def list_hash(raw: dict) -> str:
    """Hash of what one ``lists.jsonl`` record teaches (:data:`TAUGHT`)."""
    return config_hash({k: raw.get(k) for k in TAUGHT})


def query_hash(raw: dict) -> str:
    """Hash of the query one ``lists.jsonl`` record asks (:data:`ASKED`)."""
    return config_hash({k: raw.get(k) for k in ASKED})


def list_hashes(lists: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(qid -> :func:`list_hash`, qid -> :func:`query_hash`) of every record of a lists file."""
    taught, asked = {}, {}
    for r in iter_jsonl_tolerant(lists):
        taught[str(r.get("qid"))], asked[str(r.get("qid"))] = list_hash(r), query_hash(r)
    return taught, asked


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


def _warm_plan(cfg: TrainConfig, lineage: dict, hashes: tuple[dict, dict],
               train: list[str]) -> StartPlan:
    taught, asked = hashes
    seen = {str(k): str(v) for k, v in (lineage.get("lists") or {}).items()}
    seen_queries = {str(k): str(v) for k, v in (lineage.get("queries") or {}).items()}
    moved = [q for q in train if seen.get(q) != taught.get(q)]
    if cfg.warm_lists == "new_queries" and seen_queries:
        new = [q for q in train if seen_queries.get(q) != asked.get(q)]
    else:  # "changed", or a lineage of before query hashes: every moved list is new
        new = moved
    fresh = set(new)
    old = [q for q in train if q not in fresh]
    replayed = select_replay(old, cfg.replay, cfg.seed)
    chosen = fresh | set(replayed)
    note = ""
    if not chosen:
        note = "no new list and no list replayed: training on all lists again"
        chosen, replayed = set(train), old
    return StartPlan(PREVIOUS, cfg.init, note, [q for q in train if q in chosen], len(new),
                     len(replayed), len(old) - len(replayed), taught, seen,
                     changed=len(set(moved) - fresh), queries=asked,
                     seen_queries=seen_queries)


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
    plan = StartPlan(BASE, cfg.init, hashes=hashes[0], queries=hashes[1])
    if cfg.init == PREVIOUS:
        lineage, why = _previous(cfg, out)
        if lineage is None:
            logger.info("train.init previous: %s; starting from the base model %s", why,
                        cfg.student)
            plan.note = why
        else:
            plan = _warm_plan(cfg, lineage, hashes, train)
            logger.info("starting from the previous model %s: %d new lists (warm_lists: "
                        "%s), %d of the %d others replayed (%d of them moved)",
                        model_dir(out), plan.new, cfg.warm_lists, plan.replayed,
                        plan.replayed + plan.left_out, plan.changed)
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
    lists: dict[str, str] = {}
    queries: dict[str, str] = {}
    if plan is not None and kept == PREVIOUS:
        lists, queries = plan.seen, plan.seen_queries
    elif plan is not None and kept != BASE:
        lists, queries = plan.hashes, plan.queries
    write_json(Path(out) / LINEAGE, {**student_identity(cfg), "kept": kept,
                                     "weights": weights_digest(model_dir(out)),
                                     "lists": lists, "queries": queries})
