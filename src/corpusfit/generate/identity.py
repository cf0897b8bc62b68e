"""What identifies a generator's model for the completion store (:mod:`.store`).

A local model is identified by its content (a GGUF file's sha256, the hashes of a model
folder's files), never by its path, so a moved or re-downloaded copy keeps its answers
and a replaced file loses them. A server is identified by its base URL and the served
model's name. The backend's output-relevant settings (``options``, ``n_ctx``) are part
of the identity; runtime-only ones (threads, keys, concurrency) are not.
"""

from __future__ import annotations

import os
from pathlib import Path

from corpusfit.fields import results_dump
from corpusfit.generate.config import DEFAULT_GGUF, BackendConfig
from corpusfit.workspace import config_hash, file_sha256, read_json, write_json

HASHES = "file-hashes.json"  # memo of (path, size, mtime) -> sha256 inside the store folder


class _Hasher:
    """sha256 of files, remembered in the store folder so a 500 MB GGUF is read once."""

    def __init__(self, root: Path):
        self.path = root / HASHES
        try:
            memo = read_json(self.path) if self.path.exists() else {}
        except Exception:  # noqa: BLE001 - a memo only: rebuilt when unreadable
            memo = {}
        self.memo: dict = memo if isinstance(memo, dict) else {}
        self.changed = False

    def file(self, path: Path) -> str:
        st = path.stat()
        tag = f"{st.st_size}:{st.st_mtime_ns}"
        entry = self.memo.get(str(path))
        if isinstance(entry, dict) and entry.get("tag") == tag:
            return entry["sha256"]
        digest = file_sha256(path)
        self.memo[str(path)] = {"tag": tag, "sha256": digest}
        self.changed = True
        return digest

    def folder(self, path: Path) -> str:
        return config_hash(sorted((str(f.relative_to(path)), self.file(f))
                                  for f in path.rglob("*") if f.is_file()))

    def save(self) -> None:
        if self.changed:
            write_json(self.path, self.memo)


def _local_model(config: BackendConfig, hasher: _Hasher) -> str:
    from corpusfit.models import BUNDLED_GGUF, resolve_gguf, resolve_model

    name = config.model or DEFAULT_GGUF
    if config.name == "llama-cpp" or name.strip().lower() in BUNDLED_GGUF \
            or name.endswith(".gguf"):
        return "sha256:" + hasher.file(resolve_gguf(name))
    found = Path(resolve_model(name))
    return "files:" + hasher.folder(found) if found.is_dir() else f"hub:{name}"


def model_identity(config: BackendConfig, root: str | os.PathLike,
                   served_model: str | None = None) -> dict | None:
    """The identity of ``config``'s model, or ``None`` when only the backend can tell
    (an ``openai`` server without a model name: pass ``served_model`` once it is known)."""
    identity = results_dump(config)
    if config.name == "openai":
        model = config.model or served_model
        if model is None:
            return None
        identity["model"] = model
        identity["base_url"] = config.base_url or os.environ.get("OPENAI_BASE_URL")
        return identity
    if config.name in ("llama-cpp", "transformers", "vllm"):
        hasher = _Hasher(Path(root))
        identity["model"] = _local_model(config, hasher)
        Path(root).mkdir(parents=True, exist_ok=True)
        hasher.save()
    return identity
