"""Synthetic query generation: query types, prompts, LLM backends, cleaning."""

from corpusfit.generate.config import (
    BackendConfig,
    GenerateConfig,
    SamplingConfig,
    backend_config,
)

__all__ = ["BackendConfig", "GenerateConfig", "SamplingConfig", "backend_config"]
