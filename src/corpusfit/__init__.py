"""corpusfit: specialize a dense retriever to one corpus without human labels.

The Python API (:mod:`corpusfit.api`)::

    from corpusfit import load_config, run

    result = run(load_config("corpusfit.yaml"), "runs/my-corpus")
    print(result.model, result.metrics["retrievers"]["specialized"]["metrics"]["nDCG@10"])

Names are imported on first use, so ``import corpusfit`` stays light (no torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corpusfit.version import __version__

if TYPE_CHECKING:
    from corpusfit.api import (  # noqa: F401
        RunResult,
        load_config,
        load_section,
        run,
        run_eval,
        run_evaluate,
        run_generate,
        run_ingest,
        run_label,
        run_mine,
        run_train,
    )

API = ("RunResult", "load_config", "load_section", "run", "run_eval", "run_evaluate",
       "run_generate", "run_ingest", "run_label", "run_mine", "run_train")
__all__ = ["__version__", *API]


def __getattr__(name: str) -> Any:
    if name in API:
        import corpusfit.api as api

        return getattr(api, name)
    raise AttributeError(f"module 'corpusfit' has no attribute {name!r}")
