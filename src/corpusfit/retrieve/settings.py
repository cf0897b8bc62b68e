"""How retrieval runs are built: the only place the retrieval defaults live.

A module of its own (no imports inside ``retrieve``) so that fusion, the encoder and
the builder can all take their defaults from it without an import cycle.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, field_validator

from corpusfit.fields import added_field, runtime_only
from corpusfit.precision import Precision

# PyStemmer's Snowball stemmers, plus languages BM25 reads without one.
BM25_LANGUAGES = (
    "arabic", "armenian", "basque", "catalan", "chinese", "czech", "danish", "dutch",
    "english", "esperanto", "estonian", "finnish", "french", "german", "greek", "hindi",
    "hungarian", "indonesian", "irish", "italian", "japanese", "lithuanian", "nepali", "none",
    "norwegian", "persian", "polish", "porter", "portuguese", "romanian", "russian", "serbian",
    "sesotho", "spanish", "swedish", "tamil", "turkish", "yiddish")


def _known_language(value: str) -> str:
    if value not in BM25_LANGUAGES:
        raise ValueError(f"unknown BM25 language {value!r} (one of: "
                         f"{', '.join(BM25_LANGUAGES)})")
    return value


Bm25Language = Annotated[str, AfterValidator(_known_language)]
"""A language BM25 reads (validated wherever a config names one)."""

# Under this many texts `encode_devices: auto` keeps one process: starting one per GPU
# (spawn, import torch, copy the model over) costs seconds. A guess, not measured (no GPU
# was lent to this project); a list of devices always starts the processes.
POOL_MIN_TEXTS = 50_000
_DEVICE = re.compile(r"(cpu|cuda|xpu|npu|hpu|mps)(:\d+)?")


def _device_list(value: Literal["auto"] | list[str]) -> Literal["auto"] | list[str]:
    if value == "auto":
        return value
    if len(value) < 2:
        raise ValueError("encode_devices: auto, or a list of two or more devices (one "
                         "process encodes on the encoder's own device)")
    bad = [d for d in value if not _DEVICE.fullmatch(d)]
    if bad:
        raise ValueError(f"encode_devices: {bad[0]!r} is not a torch device (cuda:0, cuda:1, "
                         "..., cpu)")
    return value


EncodeDevices = Annotated[Literal["auto"] | list[str], AfterValidator(_device_list)]
"""Where a corpus is encoded: ``auto`` or two or more torch devices, one process each."""


class RetrievalSettings(BaseModel):
    """How runs are built; the only place these defaults live (config sections, function
    signatures and the command line take theirs from here)."""

    model_config = ConfigDict(extra="forbid")

    depth: StrictInt = Field(1000, ge=1, description="documents retrieved per query")
    rrf_k: StrictInt = Field(60, ge=1, description="reciprocal rank fusion constant k: "
                                             "score = sum of 1 / (k + rank)")
    batch_tokens: StrictInt = Field(16384, ge=256, description="token budget per encoding "
                                    "batch (on a CPU at most 4096 tokens and 64 texts: bigger "
                                    "batches are slower there)")
    bm25_language: Bm25Language = added_field(
        "english", description="BM25's stop words and stemmer: a Snowball language (english, "
        "german, french...), chinese or japanese (one term per Han or kana character), or none")
    bm25_stem: bool = added_field(False, description="stem BM25's terms with the language's "
                            "Snowball stemmer (PyStemmer)")
    cache_dir: str | None = Field(None, description="embedding cache folder")
    show_progress: bool = Field(True, description="progress bars while encoding")
    # Runtime-only like batch sizes and devices: it changes speed, and the vectors only in
    # the third decimal; the embedding cache keys bf16 vectors apart.
    precision: Precision = runtime_only("fp32", description="dense encoding: fp32 gives the "
                                        "vectors sentence-transformers gives; auto = bf16 "
                                        "autocast where the hardware has bf16 dot products "
                                        "(bf16 GPU, AMX or AVX512_BF16 CPU), else fp32")
    trust_remote_code: bool = runtime_only(False, description="let a model folder run its own "
                                           "Python code (nomic, jina, gte-v1.5 ...); only for "
                                           "folders you trust")
    encode_devices: EncodeDevices = runtime_only(
        "auto", description="dense encoding of a corpus on several devices, one process each "
        "(sentence-transformers' multi-process pool): auto = every visible CUDA GPU when "
        "the encoder runs on one, two or more are visible and at least "
        f"{POOL_MIN_TEXTS:,} texts are to be encoded, else one process; or a list, e.g. "
        "[cuda:0, cuda:1]")


class EncoderOptions(BaseModel):
    """How a sentence-transformers model encodes, on top of what its folder says.

    Everything left unset is the folder's own (as ``SentenceTransformer(folder)`` reads
    it); a trained model is saved with these settings, so the folder it becomes encodes
    the same way in plain sentence-transformers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trust_remote_code: bool = runtime_only(False, description=RetrievalSettings.model_fields[
        "trust_remote_code"].description)
    prompts: dict[str, str] = Field(default_factory=dict, description="prompts by name, over "
                                    "the model's saved ones, e.g. {query: 'query: ', "
                                    "document: 'passage: '}")
    query_prompt_name: str | None = Field(None, description="the prompt queries get (null: "
                                          "'query', as encode_query picks it)")
    document_prompt_name: str | None = Field(None, description="the prompt passages get "
                                             "(null: 'document', 'passage' or 'corpus', as "
                                             "encode_document picks it)")
    truncate_dim: StrictInt | None = Field(None, ge=1, description="keep the first N "
                                           "dimensions of each vector (Matryoshka models)")
    query_max_length: StrictInt | None = Field(None, ge=4, description="query tokens (null: "
                                               "the model's max_seq_length)")
    passage_max_length: StrictInt | None = Field(None, ge=4, description="passage tokens "
                                                 "(null: the model's max_seq_length)")

    @field_validator("query_prompt_name", "document_prompt_name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("a prompt name must not be empty")
        return v



def default(name: str) -> Any:
    """The default of one setting, for a function signature (``k: int = default("rrf_k")``)."""
    return RetrievalSettings.model_fields[name].default


def setting(name: str, **kwargs: Any) -> Any:
    """A config field whose default is :class:`RetrievalSettings`' (bounds may differ);
    names of :class:`EncoderOptions` work too."""
    fields = {**EncoderOptions.model_fields, **RetrievalSettings.model_fields}
    base = fields[name]
    if base.default_factory is not None:
        kwargs.setdefault("description", base.description)
        return Field(default_factory=base.default_factory, **kwargs)
    kwargs.setdefault("description", base.description)
    kwargs.setdefault("json_schema_extra", base.json_schema_extra)  # e.g. runtime-only
    return Field(base.default, **kwargs)
