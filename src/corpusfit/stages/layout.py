"""Where each stage's folder lies inside a run directory, and the stage names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpusfit.data.artifacts import ARTIFACTS
from corpusfit.errors import CorpusfitError

STAGES = ("ingest", "generate", "mine", "label", "train", "evaluate", "report")
FOLDERS = {"ingest": "01-ingest", "generate": "02-generate", "mine": "03-mine",
           "label": "04-label", "train": "05-train", "evaluate": "06-evaluate",
           "report": "07-report"}


def artifact_path(run_dir: str | Path, name: str) -> Path:
    """The file of artifact ``name`` in a run directory (``lists`` -> 04-label/lists.jsonl)."""
    a = ARTIFACTS[name]
    return Path(run_dir) / FOLDERS[a.stage] / a.file


def check_stage_name(name: str) -> str:
    """Accept a stage name or a variant's key such as ``train-infonce``."""
    if name in STAGES or name.split("-", 1)[0] in STAGES:
        return name
    raise CorpusfitError(f"unknown stage '{name}' (stages: {', '.join(STAGES)})")


@dataclass
class RunLayout:
    """The validated config of one pipeline run and the folders of its run directory."""

    config: Any  # corpusfit.config.RootSettings
    root: Path

    def dir(self, stage: str, variant: str | None = None) -> Path:
        """The folder of ``stage`` (of one train variant) in the run directory."""
        return self.root / (FOLDERS[stage] + (f"-{variant}" if variant else ""))

    def artifact(self, name: str) -> Path:
        """Where artifact ``name`` (:data:`ARTIFACTS`) lies: its stage's folder / its file."""
        return artifact_path(self.root, name)

    @property
    def cache_dir(self) -> Path:
        """Embedding and score caches shared by all stages (keyed by model, settings, text)."""
        return self.root / "cache"

    def section(self, stage: str) -> Any:
        """The config section a stage reads (``train`` for every train variant)."""
        section = getattr(self.config, stage, None)
        if section is None:
            raise CorpusfitError(f"the config has no '{stage}' section")
        return section


@dataclass
class Step:
    """A stage placed in a run directory: its folder and the folders it comes after."""

    stage: Any  # corpusfit.stages.base.Stage
    out: Path
    after: list[Path]
