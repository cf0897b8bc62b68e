"""Retriever specs (``bm25``, ``rrf:A+B``, a run file, a model name or folder) and
their short names, shared by mining and evaluation."""

from __future__ import annotations

import re
from pathlib import Path


def spec_name(spec: str) -> str:
    """A short file-safe name for a spec (a folder's basename for model paths)."""
    if spec.startswith("rrf:"):
        return "rrf-" + "+".join(spec_name(p) for p in spec[4:].split("+"))
    path = Path(spec)
    if path.exists():
        return re.sub(r"[^A-Za-z0-9_.+-]", "_", path.stem if path.is_file() else path.name)
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", spec)
