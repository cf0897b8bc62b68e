"""Never worse: the base model competes with every trained checkpoint on the dev loss.

The train stage scores the untrained student on the dev lists before the first step
(an ``epoch: 0`` dev record in ``train_log.jsonl``) with the same dev loss that early
stopping uses. With ``keep_base_if_better`` it is the first "best" model, so a
checkpoint must beat it to be kept. This module turns the dev history into the
``result`` fields of the manifest and the sentence the log, the card and the report
show. It imports nothing heavy: the report reads it too.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

BASE = "base"
PREVIOUS = "previous"  # a warm start's previous model (train.init: previous)
TRAINED = "trained"


def best_trained(history: list[dict]) -> tuple[float | None, int | None]:
    """(lowest dev loss, its epoch) over the trained checkpoints (epochs >= 1)."""
    trained = [r for r in history if r.get("epoch", 0) >= 1 and "dev_loss" in r]
    if not trained:
        return None, None
    best = min(trained, key=lambda r: r["dev_loss"])
    return float(best["dev_loss"]), int(best["epoch"])


def selection_result(history: list[dict], base_dev: float | None, kept_epoch: int | None,
                     keep_base_if_better: bool, kept_model: str | None = None,
                     previous_dev: float | None = None) -> dict:
    """The manifest's fields on which model was kept.

    Args:
        history: the dev records (``epoch`` 0 is the base model, and with a warm start
            also the previous model).
        base_dev: the base model's dev loss (None without dev lists).
        kept_epoch: the epoch of the weights that were exported (0: the base model).
        keep_base_if_better: the config choice, to word the warning.
        kept_model: base | previous | trained when known (else read off ``kept_epoch``).
        previous_dev: a warm start's previous model's dev loss.

    Returns:
        ``{"kept": "base" | "previous" | "trained", "base_dev_loss", "best_dev_loss",
        "best_epoch"}`` where the last two describe the best *trained* checkpoint, plus
        ``previous_dev_loss`` after a warm start.
    """
    best, epoch = best_trained(history)
    kept = kept_model or (BASE if kept_epoch == 0 else TRAINED)
    result = {"kept": kept, "base_dev_loss": base_dev, "best_dev_loss": best,
              "best_epoch": epoch}
    if previous_dev is not None:
        result["previous_dev_loss"] = previous_dev
    if kept == BASE:
        logger.warning("%s; keeping the base model", base_better_text(result))
    elif kept == PREVIOUS:
        logger.warning("%s; keeping the previous model", previous_better_text(result))
    elif base_dev is not None and best is not None and base_dev < best:
        logger.warning("%s, but train.keep_base_if_better is %s; keeping the trained model",
                       base_better_text(result), keep_base_if_better)
    return result


def _loss(value: float | None) -> str:
    return "n/a" if value is None else f"{round(value, 4) + 0.0:.4f}"  # no "-0.0000"


def base_better_text(result: dict) -> str:
    """``the base model was better on the dev lists (dev loss X vs best trained Y)``."""
    return (f"the base model was better on the dev lists (dev loss "
            f"{_loss(result.get('base_dev_loss'))} vs best trained "
            f"{_loss(result.get('best_dev_loss'))})")


def kept_base_sentence(result: dict | None) -> str | None:
    """The report's and the card's first line when the base model was kept, else None."""
    if not result or result.get("kept") != BASE:
        return None
    if result.get("vetoed_by") == "labelfree":
        return (f"corpusfit kept the base model: the label-free verdict on "
                f"{result.get('labelfree_queries', 0)} held-out synthetic queries found the "
                "trained model worse (train.guard: dev_loss+labelfree), so the specialized "
                "model is the base model, unchanged.")
    return (f"corpusfit kept the base model: {base_better_text(result)}, so the specialized "
            "model is the base model, unchanged.")


def previous_better_text(result: dict) -> str:
    """``the previous model was better on the dev lists (dev loss X vs base Y, best
    trained Z)``."""
    return (f"the previous model was better on the dev lists (dev loss "
            f"{_loss(result.get('previous_dev_loss'))} vs base "
            f"{_loss(result.get('base_dev_loss'))}, best trained "
            f"{_loss(result.get('best_dev_loss'))})")


def kept_sentence(result: dict | None) -> str | None:
    """The first line of the report and the card when the base or the previous model was
    kept (None when a new checkpoint was)."""
    if result and result.get("kept") == PREVIOUS:
        return (f"corpusfit kept the previous model: {previous_better_text(result)}, so the "
                "specialized model is the one an earlier run trained, unchanged.")
    return kept_base_sentence(result)
