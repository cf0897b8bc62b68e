"""Model card (README.md) written into every trained model folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from corpusfit import __version__
from corpusfit.train.selection import kept_base_sentence
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
    return note + _table(history, ["epoch", "step", *keys])


def _intro(base_model: str, where: str, mode: str, result: dict | None) -> str:
    """The card's first lines: what this folder holds (the base model when it was kept)."""
    how = "listwise distillation from teacher-scored lists of synthetic queries"
    kept = kept_base_sentence(result)
    if kept:
        return (f"**{kept}**\n\nThis folder holds the weights of `{base_model}`{where}, "
                f"unchanged: corpusfit {__version__} trained it with {how} (mode: `{mode}`), "
                "and no checkpoint beat it on the dev lists.")
    return (f"Fine-tuned from `{base_model}`{where} by corpusfit {__version__} with {how} "
            f"(mode: `{mode}`).")


def _metrics_section(metrics: dict | None) -> str:
    if not metrics:
        return "Not evaluated yet (run `corpusfit eval --retriever THIS_FOLDER`).\n"
    rows = [{"model": name, **vals} for name, vals in metrics.get("models", {}).items()]
    cols = ["model", *sorted({k for r in rows for k in r if k != "model"})]
    return f"On `{metrics.get('data', '?')}`:\n\n" + _table(rows, cols)


def write_card(folder: Path, *, base_model: str, mode: str, config: dict, counts: dict,
               history: list[dict], summary: dict, metrics: dict | None = None,
               base_path: str | None = None, result: dict | None = None) -> None:
    """Write ``folder/README.md`` describing how the model was trained.

    ``result`` is the train stage's selection (:func:`~corpusfit.train.selection.
    selection_result`); when the base model was kept, the card says so first.
    """
    where = f" (`{base_path}`)" if base_path and base_path != base_model else ""
    passage_note = (
        "Query-only model: encode **queries** with this folder and **passages** with the "
        "base model (recorded as `passage_model` in `corpusfit_encoder.json`), so an "
        "existing passage index stays valid." if mode == "query_only"
        else "Queries and passages are both encoded with this model.")
    text = f"""---
library_name: sentence-transformers
tags: [sentence-transformers, feature-extraction, corpusfit]
base_model: {base_model}
---

# corpusfit student

{_intro(base_model, where, mode, result)} {passage_note}

## Training data

{_counts_section(counts)}
## Run

{_table([summary], list(summary))}
## Dev loss per epoch

{_dev_section(history)}
## Retrieval metrics

{_metrics_section(metrics)}
## Config

```json
{json.dumps(config, indent=2)}
```
"""
    write_text(Path(folder) / "README.md", text)
    logger.info("model card written to %s", Path(folder) / "README.md")
