"""The report's details beyond counts: per-query values, training results, the recipe and
example queries, each read from what the stages wrote (absent pieces give empty values)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from corpusfit.data.artifacts import artifact_file
from corpusfit.errors import DataError
from corpusfit.train.card_meta import recipe_from_run
from corpusfit.workspace import iter_jsonl_tolerant, read_json

PASSAGE_CHARS = 240  # enough of a passage to judge whether it answers the query


def _json(path: Path) -> dict:
    try:
        data = read_json(path)
    except (OSError, ValueError, DataError):
        return {}
    return data if isinstance(data, dict) else {}


def per_query(eval_dir: Path | None) -> dict[str, dict[str, float]]:
    """Retriever name -> query id -> nDCG@10 (the evaluate stage's ``per_query.json``)."""
    if eval_dir is None:
        return {}
    found = _json(eval_dir / artifact_file("per_query")).get("retrievers") or {}
    return {name: {str(q): float(v) for q, v in values.items()}
            for name, values in found.items() if isinstance(values, dict)}


def train_runs(folders: list[Path]) -> dict[str, dict]:
    """Train unit folder name -> {config, result} from its manifest (``result.kept`` ...)."""
    out = {}
    for folder in folders:
        if folder.name.split("-", 1)[-1].split("-", 1)[0] != "train":
            continue
        manifest = _json(folder / "manifest.json")
        if manifest:
            out[folder.name] = {"config": manifest.get("config") or {},
                                "result": (manifest.get("counts") or {}).get("result") or {}}
    return out


def _objective(config: dict) -> str:
    objective = config.get("objective") or {}
    return " + ".join(f"{w:g} × {name}" for name, w in objective.items() if w) or "?"


def recipe(run_dir: Path, trains: dict[str, dict]) -> list[dict]:
    """(what, value) rows: generator, teacher, student, mode and objective of each unit."""
    found = recipe_from_run(run_dir)
    model = _generator_model(run_dir)
    if model and "default model" in found.get("generator", ""):
        found["generator"] = found["generator"].replace("default model", model)
    rows = [{"what": k, "value": v} for k, v in found.items()]
    for unit, info in trains.items():
        config, result = info["config"], info["result"]
        suffix = "" if unit.endswith("-train") else f" ({unit.split('-', 2)[-1]})"
        if not suffix:
            rows.append({"what": "student", "value": str(config.get("student", "?"))})
        mode = result.get("mode") or config.get("mode", "?")
        rows.append({"what": f"mode{suffix}", "value": str(mode)})
        rows.append({"what": f"objective{suffix}", "value": _objective(config)})
    return rows


def _generator_model(run_dir: Path) -> str | None:
    """The model named in the first generated query (the config may leave it default)."""
    for path in sorted(run_dir.glob("*/queries.jsonl")):
        for rec in iter_jsonl_tolerant(path):
            return str(rec["model"]) if rec.get("model") else None
    return None


def _corpus_texts(corpus: Path, ids: set[str]) -> dict[str, str]:
    """Title + text of the passages ``ids`` (the corpus is streamed once)."""
    out = {}
    if not corpus.is_file() or not ids:
        return out
    for rec in iter_jsonl_tolerant(corpus):
        pid = str(rec.get("_id", rec.get("id", "")))
        if pid in ids:
            title, text = str(rec.get("title") or ""), str(rec.get("text") or "")
            out[pid] = text if text.startswith(title) else f"{title}. {text}".strip(". ")
            if len(out) == len(ids):
                break
    return out


def examples(lists: Path | None, corpus: Path | None, per_type: int = 3) -> list[dict]:
    """A few labeled queries of each type with the teacher's top passage.

    Spread over the file (every k-th query of a type), not just its first lines."""
    if lists is None or not lists.is_file():
        return []
    by_type: dict[str, list[dict]] = defaultdict(list)
    for rec in iter_jsonl_tolerant(lists):
        if rec.get("doc_ids"):
            by_type[str(rec.get("type", "?"))].append(rec)
    chosen = []
    for i, (_, recs) in enumerate(sorted(by_type.items())):
        step = max(len(recs) // per_type, 1)
        chosen += recs[i % step::step][:per_type]  # offset: types don't share passages
    texts = _corpus_texts(corpus, {str(r["doc_ids"][0]) for r in chosen}) if corpus else {}
    out = []
    for rec in chosen:
        top = str(rec["doc_ids"][0])
        passage = texts.get(top, "")
        out.append({"type": str(rec.get("type", "?")), "query": str(rec.get("query", "")),
                    "top passage": top, "source": str(rec.get("source_id", "")),
                    "top is source": "yes" if top == str(rec.get("source_id")) else "no",
                    "passage": passage[:PASSAGE_CHARS] + ("…" if len(passage) > PASSAGE_CHARS
                                                          else "")})
    return out


REUSE_COLUMNS = ["stage", "what", "reused", "new"]


def _ingest_reuse(counts: dict) -> list[dict]:
    if "sampled_new" not in counts:
        return []
    return [{"what": "sampled passages (kept from the last ingest / new)",
             "reused": counts.get("sampled_kept", 0), "new": counts["sampled_new"]}]


def _generate_reuse(counts: dict) -> list[dict]:
    if "new_records" not in counts:
        return []
    records = counts.get("accepted", 0) + counts.get("rejected", 0)
    return [{"what": "(passage, type) pairs (earlier records / generated in this run)",
             "reused": max(records - counts["new_records"], 0), "new": counts["new_records"]},
            {"what": "LLM calls (answered by the completion store / sent to the model)",
             "reused": counts.get("stored", 0), "new": counts.get("asked", 0)}]


def _label_reuse(counts: dict) -> list[dict]:
    if "pairs_scored" not in counts:
        return []
    return [{"what": "teacher scores (from the score cache / scored)",
             "reused": counts.get("pairs_cached", 0), "new": counts["pairs_scored"]}]


def _train_reuse(counts: dict) -> list[dict]:
    init = counts.get("init")
    if init is None:
        return []
    note = f" ({counts['init_note']})" if counts.get("init_note") else ""
    if init == "previous":
        moved = counts.get("lists_changed")
        moved = f", {moved} of the others with moved passages or scores" if moved else ""
        return [{"what": "train lists (replayed / new); started from the previous model, "
                         f"{counts.get('lists_left_out', 0)} learned lists left out{moved}"
                         + note,
                 "reused": counts.get("lists_replayed", 0), "new": counts.get("lists_new", 0)}]
    return [{"what": "train lists, trained from the base model" + note, "reused": "-",
             "new": counts.get("train_queries", 0)}]


def reuse_rows(manifests: dict[str, dict]) -> list[dict]:
    """What each stage's last run took from earlier work and what it did anew (rows of
    :data:`REUSE_COLUMNS`), from the manifests' counts (stage folder -> manifest)."""
    readers = {"ingest": _ingest_reuse, "generate": _generate_reuse, "label": _label_reuse,
               "train": _train_reuse}
    rows = []
    for folder, manifest in manifests.items():
        read = readers.get(folder.split("-", 1)[-1].split("-", 1)[0])
        counts = manifest.get("counts") or {}
        for row in read(counts) if read and isinstance(counts, dict) else []:
            rows.append({"stage": folder, **row})
    return rows
