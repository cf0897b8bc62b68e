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
