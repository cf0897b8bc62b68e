"""Model card (README.md) written into every trained model folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from corpusfit.train.card_meta import (
    METRICS_HEADING,
    base_card,
    front_matter,
    hub_id,
    recipe_from_run,
    render_front_matter,
    update_metrics,
)
from corpusfit.train.selection import kept_base_sentence, kept_sentence
from corpusfit.version import __version__
from corpusfit.workspace import write_text

logger = logging.getLogger(__name__)


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = ""
    for r in rows:
        cells = [f"{r[c]:.4g}" if isinstance(r.get(c), float) else str(r.get(c, ""))
                 for c in columns]
        body += "| " + " | ".join(cells) + " |\n"
    return head + body


def _counts_section(counts: dict) -> str:
    types = sorted(set(counts.get("train_types", {})) | set(counts.get("dev_types", {})))
    rows = [{"type": t, "train": counts.get("train_types", {}).get(t, 0),
             "dev": counts.get("dev_types", {}).get(t, 0)} for t in types]
    rows.append({"type": "**all**", "train": counts.get("train_queries", 0),
                 "dev": counts.get("dev_queries", 0)})
    return (f"{counts.get('passages', 0)} distinct passages appear in the lists.\n\n"
            + _table(rows, ["type", "train", "dev"]))


def _dev_section(history: list[dict]) -> str:
    if not history:
        return "No dev lists: the last checkpoint was kept.\n"
    keys = [k for k in history[0] if k.startswith("dev_")]
    note = ("Epoch 0 is the base model, scored before training.\n\n"
            if history[0].get("epoch") == 0 else "")
    if any(r.get("model") for r in history):  # a warm start scored the previous model too
        rows = [{"model": r.get("model") or ("base" if r.get("epoch") == 0 else "trained"),
                 **r} for r in history]
        note = ("Epoch 0 rows are the base model and the previous model (training started "
                "from it), scored before training.\n\n")
        return note + _table(rows, ["model", "epoch", "step", *keys])
    return note + _table(history, ["epoch", "step", *keys])


def _intro(base_model: str, where: str, mode: str, result: dict | None) -> str:
    """The card's first lines: what this folder holds (the base model when it was kept)."""
    how = "listwise distillation from teacher-scored lists of synthetic queries"
    if result and result.get("kept") == "previous":
        return (f"**{kept_sentence(result)}**\n\nThis folder holds the weights corpusfit "
                f"{__version__} trained earlier from `{base_model}`{where} with {how} (mode: "
                f"`{mode}`); no checkpoint of the new run beat them on the dev lists.")
    kept = kept_base_sentence(result)
    if kept:
        return (f"**{kept}**\n\nThis folder holds the weights of `{base_model}`{where}, "
                f"unchanged: corpusfit {__version__} trained it with {how} (mode: `{mode}`), "
                "and no checkpoint beat it on the dev lists.")
    return (f"Fine-tuned from `{base_model}`{where} by corpusfit {__version__} with {how} "
            f"(mode: `{mode}`).")


def metrics_section(metrics: dict | None) -> str:
    """Metrics of every evaluated model (this one marked), or how to evaluate."""
    if not metrics:
        return ("Not evaluated yet: run `corpusfit eval --test-data BEIR_FOLDER --retriever "
                "THIS_FOLDER` (BEIR_FOLDER holds corpus.jsonl, queries.jsonl, qrels/).\n")
    rows = [{"model": name, **vals} for name, vals in metrics.get("models", {}).items()]
    cols = ["model", *sorted({k for r in rows for k in r if k != "model"})]
    this = f" (this model: `{metrics['this']}`)" if metrics.get("this") else ""
    text = f"On `{metrics.get('data', '?')}`{this}:\n\n" + _table(rows, cols)
    vs = metrics.get("vs_baseline")
    if vs:
        text += (f"\n{vs.get('metric', 'nDCG@10')} vs `{metrics.get('baseline')}`: "
                 f"{vs['delta']:+.4f} (paired permutation test p = "
                 f"{vs['p_permutation']:.3g}).\n")
    return text


def _recipe(mode: str, config: dict, counts: dict, run: dict) -> str:
    student = config.get("student", "")
    objective = " + ".join(f"{w:g} x {name}" for name, w in config.get("objective", {}).items())
    rows = [("generator (synthetic queries)", run.get("generator", "not recorded")),
            ("teacher (scores the lists)", run.get("teacher", "not recorded")),
            ("student (base model)", f"`{hub_id(student) or Path(student).name}`"),
            ("objective", objective), ("mode", f"`{mode}`"),
            ("queries (train / dev)",
             f"{counts.get('train_queries', 0)} / {counts.get('dev_queries', 0)}"),
            ("passages in the lists", counts.get("passages", 0))]
    return "| | |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)


def _usage(mode: str) -> str:
    how = ("queries go through the trained query route and documents through the base "
           "model's document route" if mode == "query_only" else
           "queries and documents use the same weights (with their prompts, if any)")
    return f"""```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("THIS_FOLDER")  # or the hub id it was uploaded under
queries = model.encode_query(["what is the lift of a wing?"])
documents = model.encode_document(["Lift is the force that holds an aircraft in the air."])
print(model.similarity(queries, documents))
```

`encode_query` and `encode_document` matter: {how}. sentence-transformers 6 or later
reads this folder (it was written by `SentenceTransformer.save`). With corpusfit:
`corpusfit eval --test-data BEIR_FOLDER --retriever THIS_FOLDER`.
"""


def _run_dir(folder: Path) -> Path:
    """The pipeline run folder of a model folder (``RUN/05-train/model``), if it is one."""
    folder = folder.resolve()
    return folder.parent.parent if folder.parent.name.startswith("05-train") else folder.parent


def _shown_config(config: dict) -> dict:
    """The train config with local paths cut to their last part (the card is uploaded)."""
    shown = dict(config)
    for key in ("student", "eval_data", "cache_dir"):
        value = shown.get(key)
        if isinstance(value, str) and (value.startswith(("/", ".", "~")) or Path(value).exists()):
            shown[key] = hub_id(value) or Path(value).name
    return shown


def write_card(folder: Path, *, base_model: str, mode: str, config: dict, counts: dict,
               history: list[dict], summary: dict, metrics: dict | None = None,
               base_path: str | None = None, result: dict | None = None,
               name: str | None = None) -> None:
    """Write ``folder/README.md``: hub metadata, recipe, usage, training and metrics.

    ``result`` is the train stage's selection (:func:`~corpusfit.train.selection.
    selection_result`); when the base or the previous model was kept, the card says so
    first. Local paths stay out of the card (``base_path`` only serves to recognise a
    bundled model). ``name``: the model's name when ``folder`` is a staging folder.
    """
    folder = Path(folder)
    hub = hub_id(base_model) or (hub_id(base_path) if base_path else None)
    shown = hub or Path(base_model).name
    if metrics and "this" not in metrics and "trained" in metrics.get("models", {}):
        metrics = {**metrics, "this": "trained", "data": Path(str(metrics.get("data"))).name}
    meta = front_matter(name=name or folder.name, base_model=hub or base_model,
                        asymmetric=mode == "query_only", metrics=metrics,
                        base_meta=base_card(base_model, base_path))
    passage_note = (
        "Query-only model: a sentence-transformers `Router` with a trained **query** route "
        "and the base model, unchanged, as the **document** route (both in this folder), so "
        "an existing passage index stays valid." if mode == "query_only"
        else "Queries and passages are both encoded with this model.")
    text = f"""{render_front_matter(meta)}
# corpusfit student

{_intro(shown, "", mode, result)} {passage_note}

## Usage

{_usage(mode)}
## Recipe

{_recipe(mode, config, counts, recipe_from_run(_run_dir(folder)))}
## Training data

{_counts_section(counts)}
## Run

{_table([summary], list(summary))}
## Dev loss per epoch

{_dev_section(history)}
{METRICS_HEADING}

{metrics_section(metrics)}
## Config

```json
{json.dumps(_shown_config(config), indent=2)}
```
"""
    write_text(folder / "README.md", text)
    logger.info("model card written to %s", folder / "README.md")


def record_evaluation(models: dict[str, str], results: dict) -> list[str]:
    """Write the evaluate stage's metrics into the card of every corpusfit model evaluated.

    ``models`` is display name -> model folder (or short name), the base model first; the
    base model's folder is an input and is left alone. Returns the names updated.
    """
    from corpusfit.train.card_meta import card_metrics_from_results

    updated = []
    for name, model in list(models.items())[1:]:
        if not Path(model).is_dir():
            continue
        metrics = card_metrics_from_results(results, name)
        if update_metrics(Path(model), metrics, metrics_section(metrics)):
            updated.append(name)
    if updated:
        logger.info("model cards updated with the evaluation: %s", ", ".join(updated))
    return updated
