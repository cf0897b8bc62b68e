"""Synthetic query generation: query types, prompts, LLM backends, cleaning, the stage."""

from corpusfit.generate.config import BackendConfig, GenerateConfig, SamplingConfig
from corpusfit.generate.runner import run_generate

__all__ = ["BackendConfig", "GenerateConfig", "SamplingConfig", "run_generate"]
