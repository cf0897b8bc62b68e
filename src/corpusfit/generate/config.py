"""Typed configuration of the generate stage; these defaults are the only ones."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    Tag,
    TypeAdapter,
)

from corpusfit.fields import results_dump, runtime_only
from corpusfit.generate.types import BUILTIN_TYPES
from corpusfit.numbers import FiniteFloat

# The bundled generator used when no model is given. Qwen2.5-Coder-0.5B passes the filters far
# more often than SmolLM2-135M (which fails the zero-shot `natural` type almost always) and
# writes better queries; see benchmarks/results/generate.md.
DEFAULT_GGUF = "qwen2.5-coder-0.5b"


class SamplingConfig(BaseModel):
    """Decoding settings shared by all backends (the paper: temperature 0.8, 50 new tokens)."""

    model_config = ConfigDict(extra="forbid")

    temperature: FiniteFloat = Field(0.8, ge=0.0, description="sampling temperature "
                                     "(0 = greedy)")
    top_p: FiniteFloat = Field(1.0, gt=0.0, le=1.0, description="nucleus sampling mass "
                               "(1 = off)")
    max_new_tokens: StrictInt = Field(50, ge=1, description="upper bound; a type may ask for fewer")
    per_type_budget: bool = Field(True, description="each type's own max_new_tokens (title, "
                                  "keywords, natural need fewer); false: max_new_tokens for all")
    stop: list[str] = Field(
        default_factory=lambda: ["\n"],
        description="stop strings; the cleaner keeps only the first line anyway, so stopping "
                    "at a newline saves tokens without changing accepted queries")


class _Backend(BaseModel):
    """What every backend has: a name (its kind), a model and extra keyword arguments."""

    model_config = ConfigDict(extra="forbid")

    name: str
    model: str | None = None
    options: dict = Field(default_factory=dict, description="extra keyword arguments")


class LlamaCppBackendConfig(_Backend):
    """llama.cpp: ``model`` is a GGUF path or bundled name (default: the bundled generator)."""

    name: Literal["llama-cpp"] = "llama-cpp"
    n_ctx: StrictInt = Field(4096, ge=256, description="context window")
    n_threads: StrictInt | None = runtime_only(None, ge=1, description="CPU threads")
    decode: Literal["batched", "sequential"] = runtime_only(
        "batched", description="batched: the requests of a batch decoded together from "
        "their shared, once-evaluated prefixes, one forward pass per token for all "
        "sequences; sequential: one request after another (the earlier path)")
    parallel: StrictInt = runtime_only(20, ge=1, le=120, description="batched: sequences "
                                       "decoded together (and requests per batch)")


class TransformersBackendConfig(_Backend):
    """transformers: ``model`` is a GGUF path, bundled name, model folder or hub id."""

    name: Literal["transformers"]
    n_threads: StrictInt | None = runtime_only(None, ge=1, description="CPU threads")
    batch_size: StrictInt = runtime_only(8, ge=1, description="prompts per forward pass")
    device: str | None = runtime_only(None, description="torch device (default auto)")


class OpenAIBackendConfig(_Backend):
    """An OpenAI-compatible server; ``model`` is the served model name (default: the first
    model the server lists)."""

    name: Literal["openai"]
    base_url: str | None = Field(None, description="server URL (else $OPENAI_BASE_URL)")
    api_key: str | None = runtime_only(None, description="key (else $OPENAI_API_KEY)")
    concurrency: StrictInt = runtime_only(4, ge=1, description="parallel requests")
    timeout: FiniteFloat = runtime_only(60.0, gt=0, description="seconds per request")
    max_retries: StrictInt = runtime_only(4, ge=0, description="retries of failed requests")
    backoff: FiniteFloat = runtime_only(1.0, ge=0, description="first retry delay, doubled "
                                                              "each time")


class VllmBackendConfig(_Backend):
    """vLLM: ``model`` is a model folder or hub id."""

    name: Literal["vllm"]


class CustomBackendConfig(_Backend):
    """A user backend: ``name`` is ``package.module:Class``; it gets this config."""

    name: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


BUILTIN_BACKENDS = ("llama-cpp", "transformers", "openai", "vllm")


def _backend_tag(value: object) -> str | None:
    name = value.get("name", "llama-cpp") if isinstance(value, dict) else getattr(value, "name",
                                                                                  None)
    if name in BUILTIN_BACKENDS:
        return name
    return "custom" if isinstance(name, str) and ":" in name else None


def _known_backend(value: object) -> object:
    tag = _backend_tag(value)
    if tag is None:
        name = value.get("name") if isinstance(value, dict) else getattr(value, "name", value)
        raise ValueError(f"unknown backend {name!r} (known: {', '.join(BUILTIN_BACKENDS)}, "
                         "or package.module:Class)")
    return value


BackendConfig = Annotated[
    Annotated[LlamaCppBackendConfig, Tag("llama-cpp")]
    | Annotated[TransformersBackendConfig, Tag("transformers")]
    | Annotated[OpenAIBackendConfig, Tag("openai")]
    | Annotated[VllmBackendConfig, Tag("vllm")]
    | Annotated[CustomBackendConfig, Tag("custom")],
    Discriminator(_backend_tag), BeforeValidator(_known_backend)]
"""Which LLM runs and how: one model per backend, chosen by ``name`` (default llama-cpp)."""

_BACKEND = TypeAdapter(BackendConfig)


def backend_config(data: dict | None = None, /, **fields: Any) -> BackendConfig:
    """Validate a backend from a mapping and/or keywords, e.g. ``backend_config(name="openai")``."""
    return _BACKEND.validate_python({**(data or {}), **fields})


class GenerateConfig(BaseModel):
    """Settings of the generate stage."""

    model_config = ConfigDict(extra="forbid")

    types: list[str] = Field(default_factory=lambda: list(BUILTIN_TYPES),
                             description="query types, one query per sampled passage each "
                             "(built in: " + ", ".join(BUILTIN_TYPES) + "; more in type_file)")
    type_file: str | None = Field(None, description="YAML/TOML file of user-defined types")
    prompt: Literal["shared-prefix", "per-passage"] = Field(
        "shared-prefix",
        description="shared-prefix: one few-shot block (all types on the same example "
                    "passages) per run of `fewshot_every` passages and the passage before the "
                    "instruction, so requests share a cached prefix (about 3x faster on a CPU, "
                    "benchmarks/results/generate.md); per-passage: the paper's layout, examples "
                    "of the request's own type drawn anew for every passage")
    fewshot: StrictInt = Field(3, ge=0, description="example passages (shared-prefix) or examples "
                                              "(per-passage) in each prompt")
    fewshot_every: StrictInt = Field(8, ge=1, description="shared-prefix: passages per "
                                     "few-shot block before the examples are drawn anew")
    max_passage_chars: StrictInt = Field(2048, ge=100, description="passage cut for the prompt")
    cut_to_student: bool = Field(True, description="cut the passage shown to the LLM where "
                                 "the student's encoding of it stops (its passage max length "
                                 "in its own tokens), so queries ask about text the student "
                                 "reads; max_passage_chars still applies")
    attempts: StrictInt = Field(3, ge=1, description="generations tried per (passage, type)")
    seed: StrictInt = Field(13, description="seed of sampling and of the few-shot examples")
    batch_size: StrictInt | None = runtime_only(
        None, ge=1, description="(passage, type) pairs sent to the backend at once and "
        "written per flush; null: the backend's own (llama-cpp: `parallel`, openai: "
        "`concurrency`, vllm: all pending pairs)")
    store: str | None = runtime_only(
        None, description="folder of the completion store shared by all runs (every answer "
        "kept under a hash of model, prompt, sampling and seed; a rerun that asks the same "
        "question sends no request); default $CORPUSFIT_COMPLETIONS or "
        "~/.cache/corpusfit/completions; 'off': no store")
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    backend: BackendConfig = Field(default_factory=LlamaCppBackendConfig,
                                   description="which LLM runs and how")

    def fingerprint(self) -> dict:
        """The settings that change the output: runtime-only fields (throughput knobs,
        secrets) are left out."""
        data = results_dump(self)
        # Whether the student's length cut changes a prompt depends on the passages: the
        # generate stage adds the cut to its fingerprint where it shortens one.
        data.pop("cut_to_student", None)
        # Before one config model per backend, every backend had a base_url (null for local
        # ones) and fingerprints hashed it: keeping the key keeps those run directories'
        # queries (hours of generation on a big corpus) instead of starting over.
        data["backend"].setdefault("base_url", None)
        return data
