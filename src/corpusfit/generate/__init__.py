"""Synthetic query generation: query types, prompts, LLM backends, cleaning."""

from corpusfit.generate.config import BackendConfig, GenerateConfig, SamplingConfig

__all__ = ["BackendConfig", "GenerateConfig", "SamplingConfig"]
