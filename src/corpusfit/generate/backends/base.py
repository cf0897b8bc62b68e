"""The backend interface and registry.

A backend turns chat requests into raw text. Heavy libraries (llama_cpp, torch,
openai, vllm) are imported inside each backend's constructor, so importing
corpusfit stays fast and only the backend in use must be installed.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from corpusfit.errors import ConfigError
from corpusfit.generate.config import BackendConfig, SamplingConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """One generation: chat ``messages`` for (``source_id``, ``type``) with its own seed.

    ``passage`` is the (cut) passage, for backends that do not need a prompt;
    ``max_new_tokens`` the type's own budget (``None``: the sampling config's).
    """

    source_id: str
    type: str
    messages: list[dict[str, str]]
    seed: int
    passage: str = ""
    max_new_tokens: int | None = None

    def token_budget(self, sampling: SamplingConfig) -> int:
        """Tokens this request may generate: its type's budget within the configured cap."""
        if not sampling.per_type_budget or self.max_new_tokens is None:
            return sampling.max_new_tokens
        return min(self.max_new_tokens, sampling.max_new_tokens)


@dataclass(frozen=True)
class Completion:
    """Raw model text, or ``None`` and the error that remained after retries.

    ``unavailable``: why the server, not the request, failed ("server unreachable"
    after retries, "server refused the requests"); the pair is kept pending, not rejected.
    """

    text: str | None
    error: str | None = None
    retries: int = 0
    unavailable: str = ""


@runtime_checkable
class Backend(Protocol):
    """What the generate stage needs from an LLM."""

    name: str
    model_name: str

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        """One completion per request, in order; failures are Completions with ``error``."""
        ...

    def close(self) -> None:
        """Free the model or connections."""
        ...


# name -> "module:Class"; imported only when chosen.
REGISTRY: dict[str, str] = {
    "llama-cpp": "corpusfit.generate.backends.llama_cpp:LlamaCppBackend",
    "transformers": "corpusfit.generate.backends.hf:TransformersBackend",
    "openai": "corpusfit.generate.backends.openai_api:OpenAIBackend",
    "vllm": "corpusfit.generate.backends.vllm:VllmBackend",
}


def _import_class(spec: str) -> type:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"backend '{spec}': cannot import {module_name} ({e})") from e
    try:
        return getattr(module, attr)
    except AttributeError as e:
        raise ConfigError(f"backend '{spec}': {module_name} has no '{attr}'") from e


def configured_batch_size(config: BackendConfig) -> int | None:
    """Pairs per call the backend ``config`` names takes (its class's ``batch_size_for``;
    None: all pending pairs; 10 for a backend that does not say), without building it."""
    cls = _import_class(REGISTRY.get(config.name, config.name))
    size_for = getattr(cls, "batch_size_for", None)
    return size_for(config) if size_for is not None else 10


def create_backend(config: BackendConfig) -> Backend:
    """Build the backend named by ``config.name`` (a registry key or ``module:Class``)."""
    # The config's type admits only registered names and module:Class.
    cls = _import_class(REGISTRY.get(config.name, config.name))
    backend = cls(config)
    if not isinstance(backend, Backend):
        raise ConfigError(f"backend '{config.name}' lacks name, model_name, generate or close")
    logger.info("backend %s, model %s", backend.name, backend.model_name)
    return backend
