"""Optional retrieval metrics of base vs trained student for the model card."""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def evaluate_student(base: str, trained: str | Path, data_dir: str,
                     cache_dir: str | None = None) -> dict:
    """nDCG@10 / R@100 of the base model and the trained one on a BEIR folder."""
    from corpusfit.data.readers import load_beir
    from corpusfit.evaluate.harness import Harness
    from corpusfit.evaluate.metrics import evaluate
    from corpusfit.retrieve.settings import RetrievalSettings

    data = load_beir(data_dir, "test")
    harness = Harness(data, RetrievalSettings(cache_dir=cache_dir, show_progress=False))
    models = {}
    for name, spec in (("base", base), ("trained", str(trained))):
        scores = evaluate(data.qrels, harness.run(spec))
        models[name] = {k: round(v, 4) for k, v in scores.items() if k in ("nDCG@10", "R@100")}
        logger.info("%s on %s: %s", name, data_dir, models[name])
    return {"data": str(data_dir), "models": models}
