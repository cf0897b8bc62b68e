"""The model card's hub metadata (YAML front matter), recipe and evaluation updates.

The hub reads ``pipeline_tag``, ``library_name``, ``base_model`` (a hub id, never a
local path), ``license`` and ``language`` (the base model's, read from its own card),
``tags`` and ``model-index`` (the evaluation results; the test data is named there, but
never listed as a hub dataset: it is a local folder). The
evaluate stage writes its metrics back into the card of the model it evaluated
(:func:`record_evaluation`), so the card never says "not evaluated" after evaluation.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import yaml

from corpusfit.errors import CorpusfitError
from corpusfit.models import SHORT_NAMES
from corpusfit.workspace import write_text

logger = logging.getLogger(__name__)

# Offline short names -> the hub id of the same weights.
HUB_IDS = {"minilm": "sentence-transformers/all-MiniLM-L6-v2",
           "all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2"}
# model-index metric types (the hub's names) of corpusfit's measures.
METRIC_TYPES = {"nDCG@10": "ndcg_at_10", "R@100": "recall_at_100", "R@1000": "recall_at_1000",
                "MRR@10": "mrr_at_10", "MAP": "map"}
METRICS_HEADING = "## Retrieval metrics"
# What the cards of the bundled models say (their packages ship no card).
KNOWN_CARDS = {"sentence-transformers/all-MiniLM-L6-v2": {"license": "apache-2.0",
                                                          "language": ["en"]}}


def hub_id(model: str) -> str | None:
    """The hub id of a short name, bundled folder or hub id; None for other local paths."""
    key = model.strip().lower()
    if key in HUB_IDS:
        return HUB_IDS[key]
    for name, locate in SHORT_NAMES.items():  # a bundled model's installed folder
        try:
            if Path(model).exists() and Path(model).resolve() == Path(locate()).resolve():
                return HUB_IDS.get(name)
        except CorpusfitError:  # the bundled package is not installed: no match
            continue
    if Path(model).expanduser().exists() or model.startswith((".", "/", "~")):
        return None
    return model if model.count("/") == 1 else None


def model_index(name: str, metrics: dict | None) -> list[dict] | None:
    """``model-index`` for this model's metrics (``metrics["this"]`` names it)."""
    if not metrics or metrics.get("this") not in metrics.get("models", {}):
        return None
    own = metrics["models"][metrics["this"]]
    data = metrics.get("data", "test data")
    values = [{"type": METRIC_TYPES.get(k, k.lower()), "name": k, "value": round(float(v), 4)}
              for k, v in own.items() if isinstance(v, int | float)]
    return [{"name": name, "results": [{
        "task": {"type": "retrieval", "name": "Retrieval"},
        "dataset": {"name": data, "type": "local", "split": metrics.get("split", "test")},
        "metrics": values}]}]


def base_card(base_model: str, base_path: str | None = None) -> dict:
    """``license`` and ``language`` of the base model, from its card (its folder's
    README.md, or the hub cache's for a hub id); {} where nothing is known."""
    hub = hub_id(base_model) or (hub_id(base_path) if base_path else None)
    card: Path | None = None
    for where in (base_path, base_model):
        if where and (Path(where) / "README.md").is_file():
            card = Path(where) / "README.md"
            break
    if card is None and hub and hub not in KNOWN_CARDS:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(hub, "README.md")
        card = Path(cached) if isinstance(cached, str) else None
    meta = {}
    if card is not None:
        try:
            meta, _ = split_card(card.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            meta = {}
    meta = meta if isinstance(meta, dict) else {}
    known = {k: meta[k] for k in ("license", "language") if meta.get(k)}
    return {**KNOWN_CARDS.get(hub or "", {}), **known}


def front_matter(*, name: str, base_model: str, asymmetric: bool, metrics: dict | None,
                 base_meta: dict | None = None) -> dict:
    meta: dict = {"pipeline_tag": "sentence-similarity", "library_name": "sentence-transformers"}
    base = hub_id(base_model)
    if base:
        meta["base_model"] = base
        meta["base_model_relation"] = "finetune"
    meta.update(base_meta or {})
    meta["tags"] = ["sentence-transformers", "sentence-similarity", "feature-extraction",
                    "dense-retrieval", "corpusfit", *(["asymmetric"] if asymmetric else [])]
    index = model_index(name, metrics)
    if index:
        meta["model-index"] = index
    return meta


def render_front_matter(meta: dict) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"


def split_card(text: str) -> tuple[dict, str]:
    """(front matter, body) of a card written by :func:`render_front_matter`."""
    if not text.startswith("---\n"):
        return {}, text
    head, _, body = text[4:].partition("\n---\n")
    return yaml.safe_load(head) or {}, body


def _manifest_config(folder: Path) -> dict:
    path = folder / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("config") or {}
    except (OSError, json.JSONDecodeError):
        return {}


def _describe_teacher(teacher: dict) -> str:
    kind = teacher.get("kind", "?")
    members = teacher.get("members") or []
    if members:
        return f"{kind} of " + ", ".join(_describe_teacher(m) for m in members)
    return f"{kind} ({teacher['model']})" if teacher.get("model") else kind


def recipe_from_run(run_dir: Path) -> dict:
    """Generator and teacher, read from the stage manifests of a pipeline run folder.

    A stage whose manifest config has ``teacher`` is the label stage; one with a
    ``backend`` is the generate stage. Only a run folder (with ``config.yaml``) is read.
    """
    out: dict = {}
    if not (run_dir / "config.yaml").is_file():
        return out
    for manifest in sorted(run_dir.glob("*/manifest.json")):
        config = _manifest_config(manifest.parent)
        teacher, backend = config.get("teacher"), config.get("backend")
        if isinstance(teacher, dict) and "teacher" not in out:
            out["teacher"] = _describe_teacher(teacher)
        if isinstance(backend, dict) and backend.get("name") and "generator" not in out:
            out["generator"] = f"{backend['name']} ({backend.get('model') or 'default model'})"
    return out


def card_metrics_from_results(results: dict, this: str) -> dict:
    """The evaluate stage's ``metrics.json`` as the card's metrics (``this`` = our name)."""
    models = {name: {k: v for k, v in entry.get("metrics", {}).items()}
              for name, entry in results.get("retrievers", {}).items()}
    vs = results.get("retrievers", {}).get(this, {}).get("vs_baseline")
    data = Path(str(results.get("test_data", "test data"))).name
    return {"data": data, "models": models, "this": this, "vs_baseline": vs,
            "baseline": results.get("baseline"), "split": results.get("split", "test")}


def update_metrics(folder: Path, metrics: dict, section: str) -> bool:
    """Replace the card's metrics section and ``model-index``; False when no corpusfit card."""
    path = Path(folder) / "README.md"
    if not path.is_file():
        return False
    meta, body = split_card(path.read_text(encoding="utf-8"))
    if "corpusfit" not in meta.get("tags", []) or METRICS_HEADING not in body:
        return False
    index = model_index(Path(folder).name, metrics)
    if index:
        meta["model-index"] = index
    head, _, rest = body.partition(METRICS_HEADING)
    _, sep, tail = rest.partition("\n## ")
    body = f"{head}{METRICS_HEADING}\n\n{section}\n" + (f"## {tail}" if sep else "")
    write_text(path, render_front_matter(meta) + body)
    return True
