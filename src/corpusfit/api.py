"""corpusfit from Python: the whole pipeline in one call, or one stage at a time.

The pipeline::

    from corpusfit import load_config, run

    config = load_config("corpusfit.yaml", ["train.epochs=1"])  # file, then --set overrides
    result = run(config, "runs/my-corpus")                       # resumes what is done
    result.model     # Path: the specialized model folder (a sentence-transformers folder)
    result.metrics   # dict: metrics.json of the evaluate stage ({} without test data)

One stage, with its config class's defaults (the command line's ``corpusfit train`` is the
same call)::

    from corpusfit import load_section, run_train

    config = load_section("train", overrides=["epochs=1"])
    trained = run_train(config, "runs/x/04-label/lists.jsonl", "runs/x/01-ingest/corpus.jsonl",
                        "runs/x/model")

Every ``run_<stage>`` function skips a folder that is up to date and resumes one that was
interrupted (:func:`corpusfit.stages.base.run_stage`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpusfit.config import RootSettings, load_config, load_section
from corpusfit.pipeline import run_pipeline
from corpusfit.stages.base import StageOutcome
from corpusfit.stages.evaluate import run_eval, run_evaluate
from corpusfit.stages.generate import run_generate
from corpusfit.stages.ingest import run_ingest
from corpusfit.stages.label import run_label
from corpusfit.stages.layout import artifact_path
from corpusfit.stages.mine import run_mine
from corpusfit.stages.train import run_train
from corpusfit.workspace import read_json

__all__ = ["RunResult", "load_config", "load_section", "run", "run_eval", "run_evaluate",
           "run_generate", "run_ingest", "run_label", "run_mine", "run_train"]


@dataclass
class RunResult:
    """What :func:`run` did.

    Attributes:
        run_dir: the run directory.
        model: the specialized model folder (``05-train``); it holds the base model's
            weights when training did not beat it (see ``metrics`` and the model card).
        metrics: the evaluate stage's ``metrics.json``: ``{"retrievers": {name:
            {"metrics": {"nDCG@10": ..., ...}, "vs_baseline": ...}}, ...}``, with names
            ``base``, ``specialized``, one per variant, ``bm25``, ``hybrid`` ...; {} when
            there is no test data or the run stopped before evaluating.
        stages: one outcome per stage (``ran`` or ``skipped``, seconds, manifest).
    """

    run_dir: Path
    model: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    stages: list[StageOutcome] = field(default_factory=list)


def run(config: RootSettings | str | Path, run_dir: str | Path | None = None, *,
        force: set[str] | None = None, until: str | None = None) -> RunResult:
    """Run (or resume) the whole pipeline, as ``corpusfit run`` does.

    Args:
        config: a config from :func:`load_config`, or the path of a YAML config file.
        run_dir: where the stages write (default: the config's ``run_dir``, else
            ``runs/<config file name>``, else ``runs/corpusfit``).
        force: stages (or variant keys such as ``train-infonce``) to redo.
        until: stop after this stage.

    Returns:
        The model folder and the metrics (:class:`RunResult`).
    """
    name = Path(config).stem if isinstance(config, str | Path) else "corpusfit"
    if isinstance(config, str | Path):
        config = load_config(config)
    root = Path(run_dir or config.run_dir or Path("runs") / name)
    outcomes = run_pipeline(config, root, force=force, until=until)
    metrics_file = artifact_path(root, "metrics")
    metrics = read_json(metrics_file) if metrics_file.exists() else {}
    return RunResult(root, artifact_path(root, "model"), metrics, outcomes)
