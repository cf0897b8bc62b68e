"""Typed configuration of the generate stage; these defaults are the only ones."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from corpusfit.generate.types import BUILTIN_TYPES
from corpusfit.numbers import FiniteFloat

# The bundled generator used when no model is given. Qwen2.5-Coder-0.5B passes the filters far
# more often than SmolLM2-135M (which fails the zero-shot `natural` type almost always) and
# writes better queries; see benchmarks/results/generate.md.
DEFAULT_GGUF = "qwen2.5-coder-0.5b"


class SamplingConfig(BaseModel):
    """Decoding settings shared by all backends (the paper: temperature 0.8, 50 new tokens)."""

    model_config = ConfigDict(extra="forbid")

    temperature: FiniteFloat = Field(0.8, ge=0.0)
    top_p: FiniteFloat = Field(1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(50, ge=1, description="upper bound; a type may ask for fewer")
    per_type_budget: bool = Field(True, description="each type's own max_new_tokens (title, "
                                  "keywords, natural need fewer); false: max_new_tokens for all")
    stop: list[str] = Field(
        default_factory=lambda: ["\n"],
        description="stop strings; the cleaner keeps only the first line anyway, so stopping "
                    "at a newline saves tokens without changing accepted queries")


class BackendConfig(BaseModel):
    """Which LLM runs and how.

    ``name`` is a registered backend (``llama-cpp``, ``transformers``, ``openai``,
    ``vllm``) or ``package.module:Class`` for a user backend. ``model`` is a GGUF
    path or bundled name (llama-cpp, transformers), a model folder or hub id
    (transformers, vllm) or the served model name (openai; default: the first
    model the server lists).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = "llama-cpp"
    model: str | None = None
    base_url: str | None = Field(None, description="openai: server URL (else $OPENAI_BASE_URL)")
    api_key: str | None = Field(None, description="openai: key (else $OPENAI_API_KEY)")
    concurrency: int = Field(4, ge=1, description="openai: parallel requests")
    timeout: FiniteFloat = Field(60.0, gt=0, description="openai: seconds per request")
    max_retries: int = Field(4, ge=0, description="openai: retries of failed requests")
    backoff: FiniteFloat = Field(1.0, ge=0,
                                 description="openai: first retry delay, doubled each time")
    n_ctx: int = Field(4096, ge=256, description="llama-cpp: context window")
    n_threads: int | None = Field(None, ge=1, description="llama-cpp/transformers: CPU threads")
    batch_size: int = Field(8, ge=1, description="transformers: prompts per forward pass")
    device: str | None = Field(None, description="transformers: torch device (default auto)")
    options: dict = Field(default_factory=dict, description="extra keyword arguments")


class GenerateConfig(BaseModel):
    """Settings of the generate stage."""

    model_config = ConfigDict(extra="forbid")

    types: list[str] = Field(default_factory=lambda: list(BUILTIN_TYPES))
    type_file: str | None = Field(None, description="YAML/TOML file of user-defined types")
    prompt: Literal["shared-prefix", "per-passage"] = Field(
        "shared-prefix",
        description="shared-prefix: one few-shot block (all types on the same example "
                    "passages) per run of `fewshot_every` passages and the passage before the "
                    "instruction, so requests share a cached prefix (about 3x faster on a CPU, "
                    "benchmarks/results/generate.md); per-passage: the paper's layout, examples "
                    "of the request's own type drawn anew for every passage")
    fewshot: int = Field(3, ge=0, description="example passages (shared-prefix) or examples "
                                              "(per-passage) in each prompt")
    fewshot_every: int = Field(8, ge=1, description="shared-prefix: passages per few-shot block "
                                                    "before the examples are drawn anew")
    max_passage_chars: int = Field(2048, ge=100, description="passage cut for the prompt")
    attempts: int = Field(3, ge=1, description="generations tried per (passage, type)")
    seed: int = 13
    batch_size: int = Field(10, ge=1, description="(passage, type) pairs written per flush")
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    backend: BackendConfig = Field(default_factory=BackendConfig)

    def fingerprint(self) -> dict:
        """The settings that change the output; throughput knobs and secrets are left out."""
        data = self.model_dump()
        for key in ("batch_size",):
            data.pop(key)
        for key in ("api_key", "concurrency", "timeout", "max_retries", "backoff", "n_threads",
                    "batch_size", "device"):
            data["backend"].pop(key)
        return data
