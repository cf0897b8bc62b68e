"""How retrieval runs are built: the only place the retrieval defaults live.

A module of its own (no imports inside ``retrieve``) so that fusion, the encoder and
the builder can all take their defaults from it without an import cycle.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

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


class RetrievalSettings(BaseModel):
    """How runs are built; the only place these defaults live (config sections, function
    signatures and the command line take theirs from here)."""

    model_config = ConfigDict(extra="forbid")

    depth: StrictInt = Field(1000, ge=1, description="documents retrieved per query")
    rrf_k: StrictInt = Field(60, ge=1, description="reciprocal rank fusion constant k: "
                                             "score = sum of 1 / (k + rank)")
    batch_tokens: StrictInt = Field(16384, ge=256, description="token budget per encoding batch")
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



def default(name: str) -> Any:
    """The default of one setting, for a function signature (``k: int = default("rrf_k")``)."""
    return RetrievalSettings.model_fields[name].default


def setting(name: str, **kwargs: Any) -> Any:
    """A config field whose default is :class:`RetrievalSettings`' (bounds may differ)."""
    base = RetrievalSettings.model_fields[name]
    kwargs.setdefault("description", base.description)
    kwargs.setdefault("json_schema_extra", base.json_schema_extra)  # e.g. runtime-only
    return Field(base.default, **kwargs)
