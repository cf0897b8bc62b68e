"""Collect what the report shows from a run directory: metrics, counts, losses, timings.

Everything is read from the artifacts the stages wrote (manifests, JSONL files,
``metrics.json``, ``agreement.json``, ``train_log.jsonl``); missing pieces are
simply absent from the result, so a partial run still gets a partial report.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from pathlib import Path

from corpusfit.data.artifacts import ARTIFACTS, artifact_file
from corpusfit.errors import DataError
from corpusfit.report import details
from corpusfit.report.labelfree import collect_labelfree
from corpusfit.train.selection import kept_sentence
from corpusfit.workspace import MANIFEST, STATE_FILE, iter_jsonl_tolerant, read_json

logger = logging.getLogger(__name__)

# Which artifact counts queries per type at which step, in pipeline order.
TYPE_STEPS = [("generated", "queries"), ("rejected", "rejected"), ("mined", "candidates"),
              ("labeled", "lists")]
NOT_LOSSES = {"step", "epoch", "lr", "seconds", "time", "elapsed", "queries", "tokens",
              "batch", "global_step", "samples", "grad_norm", "split"}


def _json_or_none(path: Path) -> dict | None:
    try:
        return read_json(path)
    except (OSError, ValueError, DataError):
        return None


def stage_folders(run_dir: Path) -> list[Path]:
    """Numbered stage folders (``01-ingest`` ...) in order."""
    return sorted(p for p in Path(run_dir).iterdir() if p.is_dir() and p.name[:2].isdigit())


def manifests(run_dir: Path) -> dict[str, dict]:
    """Folder name -> its manifest (stages that finished)."""
    out = {}
    for folder in stage_folders(run_dir):
        m = _json_or_none(folder / MANIFEST)
        if m is not None:
            out[folder.name] = m
    return out


def stage_seconds(run_dir: Path) -> dict[str, float]:
    """Folder name -> wall seconds of the unit's last completed run (from the runner)."""
    out = {}
    for folder in stage_folders(run_dir):
        state = _json_or_none(folder / STATE_FILE) or {}
        if state.get("status") == "done":
            out[folder.name] = float(state.get("seconds", 0.0))
    return out


def _find(run_dir: Path, artifact: str) -> Path | None:
    """The file of ``artifact`` (:data:`ARTIFACTS`) in the folder of the stage that writes
    it (``04-label/lists.jsonl``), else in any stage folder; None if there is none."""
    a = ARTIFACTS[artifact]
    folders = stage_folders(run_dir)
    own = [f for f in folders if f.name.split("-", 1)[-1] == a.stage]
    for folder in own + folders:
        if (folder / a.file).is_file():
            return folder / a.file
    return None


def type_counts(run_dir: Path) -> dict[str, dict[str, int]]:
    """Query type -> step -> number of queries (train/dev split for labeled lists)."""
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for step, name in TYPE_STEPS:
        path = _find(run_dir, name)
        if path is None:
            continue
        counts: Counter = Counter()
        splits: Counter = Counter()
        for rec in iter_jsonl_tolerant(path):
            counts[rec.get("type", "?")] += 1
            if step == "labeled":
                splits[(rec.get("type", "?"), rec.get("split", "?"))] += 1
        for qtype, n in counts.items():
            table[qtype][step] = n
        for (qtype, split), n in splits.items():
            table[qtype][f"labeled_{split}"] = n
    return dict(sorted(table.items()))


def loss_curves(run_dir: Path) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Training unit folder -> loss component -> [(step, value)] from ``train_log.jsonl``."""
    out: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for folder in stage_folders(run_dir):
        logs = sorted(folder.rglob("train_log.jsonl"))
        if not logs:
            continue
        curves: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for i, rec in enumerate(iter_jsonl_tolerant(logs[0])):
            step = rec.get("step", i)
            for key, value in rec.items():
                if key in NOT_LOSSES or isinstance(value, bool):
                    continue
                if isinstance(value, int | float):
                    curves[key].append((float(step), float(value)))
        if curves:
            out[folder.name] = dict(curves)
    return out


def filter_counts(run_dir: Path) -> list[dict]:
    """One row per (stage, count) from every manifest, in pipeline order."""
    rows = []
    for folder, manifest in manifests(run_dir).items():
        for key, value in (manifest.get("counts") or {}).items():
            if isinstance(value, int | float | str):
                rows.append({"stage": folder, "count": key, "value": value})
            elif isinstance(value, dict):  # e.g. rejection reasons
                for sub, n in value.items():
                    if isinstance(n, int | float | str):
                        rows.append({"stage": folder, "count": f"{key}.{sub}", "value": n})
    return rows


def kept_base_notes(run_dir: Path) -> list[str]:
    """One sentence per train unit whose stage kept the base or the previous model (its
    manifest's result)."""
    notes = []
    for folder, manifest in manifests(run_dir).items():
        result = (manifest.get("counts") or {}).get("result")
        sentence = kept_sentence(result if isinstance(result, dict) else None)
        unit = folder.split("-", 1)[-1]  # "train" or "train-VARIANT"
        if sentence and unit.split("-", 1)[0] == "train":
            notes.append(sentence if unit == "train" else f"{unit}: {sentence}")
    return notes


def collect(run_dir: str | Path) -> dict:
    """Everything the report needs, as plain data."""
    run_dir = Path(run_dir)
    eval_dir = next((f for f in stage_folders(run_dir) if f.name.endswith("evaluate")), None)
    metrics = _json_or_none(eval_dir / artifact_file("metrics")) if eval_dir else None
    agreement = _json_or_none(eval_dir / artifact_file("agreement")) if eval_dir else None
    trains = details.train_runs(stage_folders(run_dir))
    return {"run_dir": str(run_dir), "metrics": metrics or {}, "agreement": agreement or {},
            "per_query": details.per_query(eval_dir), "trains": trains,
            "recipe": details.recipe(run_dir, trains),
            "examples": details.examples(_find(run_dir, "lists"), _find(run_dir, "corpus")),
            "type_counts": type_counts(run_dir), "losses": loss_curves(run_dir),
            "filters": filter_counts(run_dir), "seconds": stage_seconds(run_dir),
            "kept_base": kept_base_notes(run_dir),
            "reuse": details.reuse_rows(manifests(run_dir)),
            "labelfree": collect_labelfree(run_dir)}
