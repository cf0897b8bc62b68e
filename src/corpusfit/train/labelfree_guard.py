"""The label-free veto of the never-worse guard (``train.guard: dev_loss+labelfree``).

After the dev loss has chosen a trained checkpoint, the exported candidate and the base
model search the corpus for the probe queries (:mod:`corpusfit.evaluate.labelfree`);
when the verdict is "worse" the base model is exported instead, and the manifest's
``result`` (``kept: base``, ``labelfree_verdict``), the log, the card and the report say
so (:func:`corpusfit.train.selection.kept_base_sentence`).
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def labelfree_verdict(student: str, candidate: Path, corpus: Path, probe: Path,
                      cache_dir: str | None) -> dict:
    """The label-free comparison of ``candidate`` with the base ``student``:
    ``{"verdict", "combined": {delta, ci_low, ci_high, n}, "queries"}``."""
    from corpusfit.evaluate.labelfree import COMBINED, labelfree_evaluation
    from corpusfit.evaluate.labelfree_config import LabelfreeConfig
    from corpusfit.retrieve.settings import RetrievalSettings

    duplicates = Path(corpus).parent / "duplicates.jsonl"
    result = labelfree_evaluation(LabelfreeConfig(), Path(corpus), Path(probe),
                                  {"base": student, "trained": str(candidate)},
                                  RetrievalSettings(cache_dir=cache_dir, show_progress=False),
                                  duplicates if duplicates.is_file() else None)
    trained = result["models"].get("trained")
    if trained is None:
        return {"verdict": None, "queries": 0}
    return {"verdict": trained["verdict"], "queries": result["queries"],
            "combined": trained["metrics"][COMBINED]["all"]}


def apply_veto(chosen: dict, verdict: dict) -> bool:
    """Record the verdict in ``chosen`` (the manifest's ``result``); True when it vetoes
    the trained model (the caller then exports the base model)."""
    chosen["labelfree_verdict"] = verdict.get("verdict")
    chosen["labelfree_queries"] = verdict.get("queries", 0)
    if verdict.get("verdict") != "worse" or chosen.get("kept") != "trained":
        return False
    c = verdict["combined"]
    chosen["kept"] = "base"
    chosen["vetoed_by"] = "labelfree"
    logger.warning("the label-free verdict on %d probe queries is worse (combined %+.4f, "
                   "[%+.4f, %+.4f]); keeping the base model", verdict["queries"], c["delta"],
                   c["ci_low"], c["ci_high"])
    return True
