"""A content-addressed store of LLM completions, shared by every run.

A completion is stored under the hash of everything that decides it: the model's
identity (a GGUF file's sha256, a model folder's file hashes, a server's base URL and
model name, plus the backend's output-relevant options), the chat messages as sent, the
sampling settings that apply to the request (temperature, top-p, its token budget, stop
strings) and the request's seed (which encodes the attempt number). Any run, in any run
directory, that asks the same question gets the stored answer without a request; a
changed setting, prompt or passage changes the key of exactly the requests it touches.

Layout: ``root/*.jsonl``, one append-only file per writing process (``JsonlAppender``:
flushed, fsynced, torn tail repaired), so concurrent runs never interleave lines and a
crash loses at most the batch being written. Readers take every file (a torn last line
is skipped). Only real answers are stored: errors and outages are asked again.

Use :class:`StoredBackend` around any backend (the generate runner does so unless
``generate.store`` is ``off``); the default folder is ``$CORPUSFIT_COMPLETIONS`` or
``$XDG_CACHE_HOME/corpusfit/completions`` (``~/.cache/corpusfit/completions``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from corpusfit.generate.backends.base import (
    Backend,
    Completion,
    Request,
    configured_batch_size,
    create_backend,
)
from corpusfit.generate.config import GenerateConfig, SamplingConfig
from corpusfit.generate.identity import model_identity
from corpusfit.workspace import JsonlAppender, iter_jsonl_tolerant

logger = logging.getLogger(__name__)

SCHEMA = 1  # bump only when what a key means changes


def default_root() -> Path:
    """The shared store folder: ``$CORPUSFIT_COMPLETIONS``, else the user's cache folder."""
    if env := os.environ.get("CORPUSFIT_COMPLETIONS"):
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "corpusfit" / "completions"


def request_key(identity: dict, request: Request, sampling: SamplingConfig) -> str:
    """The store key of one request: sha256 of what determines its completion."""
    blob = {"schema": SCHEMA, "model": identity, "messages": request.messages,
            "seed": request.seed,
            "sampling": {"temperature": sampling.temperature, "top_p": sampling.top_p,
                         "max_tokens": request.token_budget(sampling),
                         "stop": list(sampling.stop)}}
    text = json.dumps(blob, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CompletionStore:
    """The completions under ``root``: read all files at open, append to this process's own."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._answers: dict[str, dict] = {}
        self._appender: JsonlAppender | None = None
        if self.root.is_dir():
            for path in sorted(self.root.glob("*.jsonl")):
                for rec in iter_jsonl_tolerant(path):
                    if isinstance(rec, dict) and isinstance(rec.get("k"), str) \
                            and isinstance(rec.get("text"), str):
                        self._answers[rec["k"]] = rec
        logger.info("completion store %s: %d answers", self.root, len(self._answers))

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: str) -> dict | None:
        """The stored record (``text``, ``model_name``) of ``key``, or ``None``."""
        return self._answers.get(key)

    def put(self, key: str, text: str, model_name: str, backend: str = "") -> None:
        """Remember an answer; it reaches disk at the next :meth:`flush`."""
        if key in self._answers:
            return
        rec = {"k": key, "text": text, "model_name": model_name, "backend": backend,
               "t": round(time.time())}
        self._answers[key] = rec
        if self._appender is None:
            name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
            self._appender = JsonlAppender(self.root / name)
        self._appender.add(rec)

    def flush(self) -> None:
        if self._appender is not None:
            self._appender.flush()

    def close(self) -> None:
        if self._appender is not None:
            self._appender.close()
            self._appender = None


class StoredBackend:
    """Any backend behind the store: answers it holds cost nothing, the rest are asked.

    The real backend is built (``factory``) only when a request misses the store, so a
    rerun whose answers are all stored never loads a model or contacts a server.

    Attributes:
        hits: requests answered from the store.
        misses: requests sent to the backend.
    """

    def __init__(self, name: str, identity: dict, store: CompletionStore,
                 factory: Callable[[], Backend], backend: Backend | None = None,
                 batch_size: int | None = 10):
        self._name = name
        self._batch_size = batch_size
        self.identity = identity
        self.store = store
        self._factory = factory
        self._inner = backend
        self._stored: dict = {}  # model and backend names stored with an answer
        self.hits = self.misses = 0

    @property
    def name(self) -> str:
        """The backend's name as it reports it (or as stored with its answers)."""
        if self._inner is not None:
            return self._inner.name
        return self._stored.get("backend") or self._name

    @property
    def batch_size(self) -> int | None:
        """Pairs per call: the backend's (read off its config until it is built)."""
        if self._inner is not None:
            return getattr(self._inner, "batch_size", 10)
        return self._batch_size

    @property
    def model_name(self) -> str:
        """The model's name as the backend reports it (or as stored with its answers)."""
        if self._inner is not None:
            return self._inner.model_name
        return self._stored.get("model_name") or str(self.identity.get("model", "?"))

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        """One completion per request: stored answers first, the misses in one backend call."""
        keys = [request_key(self.identity, r, sampling) for r in requests]
        out: list[Completion | None] = []
        for key in keys:
            rec = self.store.get(key)
            out.append(None if rec is None else Completion(rec["text"]))
            if rec is not None and not self._stored:
                self._stored = rec
        missing = [i for i, c in enumerate(out) if c is None]
        self.hits += len(requests) - len(missing)
        if missing:
            if self._inner is None:
                self._inner = self._factory()
            comps = self._inner.generate([requests[i] for i in missing], sampling)
            if len(comps) != len(missing):
                return comps  # the runner names the backend's mistake
            self.misses += len(missing)
            for i, comp in zip(missing, comps):
                out[i] = comp
                if comp.text is not None and not comp.unavailable:
                    self.store.put(keys[i], comp.text, self._inner.model_name, self._inner.name)
            self.store.flush()
        return out  # type: ignore[return-value]

    def close(self) -> None:
        self.store.close()
        if self._inner is not None:
            self._inner.close()


def open_backend(config: GenerateConfig) -> Backend:
    """The configured backend behind the completion store (``config.store``; ``off``: bare)."""
    if config.store == "off":
        return create_backend(config.backend)
    root = Path(config.store).expanduser() if config.store else default_root()
    inner = None
    identity = model_identity(config.backend, root)
    if identity is None:  # only the server can say which model it serves
        inner = create_backend(config.backend)
        identity = model_identity(config.backend, root, served_model=inner.model_name)
    return StoredBackend(config.backend.name, identity, CompletionStore(root),
                         lambda: create_backend(config.backend), inner,
                         configured_batch_size(config.backend))
