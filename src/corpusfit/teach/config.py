"""Typed configs of teachers and the label stage; every default lives here."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    field_validator,
    model_validator,
)

from corpusfit.fields import results_dump, runtime_only
from corpusfit.numbers import FiniteFloat
from corpusfit.precision import Precision
from corpusfit.retrieve.settings import Bm25Language, setting
from corpusfit.retry import REQUEST_TIMEOUT
from corpusfit.workspace import config_hash

NormalizeOver = Literal["all_scored", "kept_lists"]
TopScoreFilter = Literal["reference", "top_scores", "none"]
Backend = Literal["auto", "transformers", "llama-cpp", "openai"]

QL_PROMPT = "Passage: {passage}\nPlease write a question based on this passage.\nQuestion:"
JUDGE_PROMPT = ("Passage: {passage}\nQuery: {query}\n"
                "Is the passage relevant to the query? Answer yes or no.\nAnswer:")
T5_PROMPT = "Query: {query} Document: {passage} Relevant:"


class _Teacher(BaseModel):
    """What every teacher kind shares: its identity (the cache key of its scores).

    Fields marked runtime-only (speed, place, retries) are not part of the identity,
    so the score cache is shared across machines and batch sizes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str

    def identity(self) -> dict:
        """The fields that determine the scores (what the cache is keyed by)."""
        return results_dump(self)

    def teacher_id(self) -> str:
        """``kind-<hash>``: a name for this teacher's scores in the cache."""
        return f"{self.kind}-{config_hash(self.identity())}"

    def leaves(self) -> list[_Teacher]:
        """The teachers that score pairs: the members of an ensemble, else itself."""
        return [self]


CPU_TEACHER_BATCH, GPU_TEACHER_BATCH = 16, 128


class _ModelTeacher(_Teacher):
    model: str = Field(min_length=1, description="model folder, hub id, .gguf file or short "
                                                 "name (minilm, smollm2, qwen2.5-coder-0.5b)")
    batch_size: Annotated[StrictInt, Field(ge=1)] | Literal["auto"] = runtime_only(
        "auto", description="pairs per forward pass; auto = 16 on a CPU, 128 on a GPU")
    device: str | None = runtime_only(None, description="torch device (default: cuda if "
                                                        "available)")

    def batch_for(self, device_type: str) -> int:
        """``batch_size`` with ``auto`` resolved for ``device_type`` (cpu, cuda, ...)."""
        if self.batch_size != "auto":
            return self.batch_size
        return CPU_TEACHER_BATCH if device_type == "cpu" else GPU_TEACHER_BATCH


class CrossEncoderTeacherConfig(_ModelTeacher):
    """A sentence-transformers cross-encoder."""

    kind: Literal["cross-encoder"]
    max_length: StrictInt = Field(512, ge=16, description="max tokens of query + passage")


class T5TeacherConfig(_ModelTeacher):
    """monoT5 / RankT5 relevance from a seq2seq model."""

    kind: Literal["t5"]
    variant: Literal["monot5", "rankt5"] = Field("monot5", description="t5 scoring rule")
    true_token: str = Field("true", description="monoT5 'relevant' token")
    false_token: str = Field("false", description="monoT5 'not relevant' token")
    rank_token: str = Field("<extra_id_10>", description="RankT5 score token")
    prompt: str = Field("", description="prompt template with {query} and {passage}; "
                                        "empty: the default")
    max_length: StrictInt = Field(512, ge=16, description="max tokens of the prompt")


class _CausalLMTeacher(_ModelTeacher):
    backend: Backend = Field("auto", description="auto: llama-cpp for .gguf models, else "
                                                 "transformers")
    prompt: str = Field("", description="prompt template with {query} and {passage}; "
                                        "empty: the kind's default")
    max_passage_tokens: StrictInt = Field(256, ge=8, description="passage tokens kept")
    max_query_tokens: StrictInt = Field(64, ge=1, description="query tokens kept")
    kv_reuse: bool = runtime_only(True, description="reuse the passage prefix's KV cache "
                                                    "across queries")
    n_threads: StrictInt | None = runtime_only(None, description="CPU threads for llama-cpp")


class QueryLikelihoodTeacherConfig(_CausalLMTeacher):
    """log P(query | passage) under a causal LM."""

    kind: Literal["query-likelihood"]


class LLMJudgeTeacherConfig(_CausalLMTeacher):
    """Yes/no logit difference of a causal LM asked whether the passage is relevant."""

    kind: Literal["llm-judge"]
    yes_token: str = Field(" yes", description="'relevant' answer token")
    no_token: str = Field(" no", description="'not relevant' answer token")
    base_url: str | None = runtime_only(None, description="OpenAI-compatible server URL")
    api_key_env: str = runtime_only("OPENAI_API_KEY", description="env var holding the API key")
    max_retries: StrictInt = runtime_only(3, ge=0, description="retries per request to a server")
    timeout: FiniteFloat = runtime_only(REQUEST_TIMEOUT, gt=0, description="seconds per request "
                                        "to a server before it counts as failed (retried)")


class _BM25Teacher(_Teacher):
    """What the BM25 kinds share: how text becomes terms (as the first stage's BM25).

    Both fields are added fields (:func:`corpusfit.fields.added_field`): at their defaults
    (english, unstemmed: what BM25 teachers always did) they are left out of the identity,
    so the default teacher's score cache keeps its key; a stemmed teacher gets its own.
    """

    language: Bm25Language = setting("bm25_language")
    stem: bool = setting("bm25_stem")

    def terms(self) -> dict:
        """How text becomes terms, as :class:`~corpusfit.retrieve.bm25.BM25Index` takes it."""
        return {"language": self.language, "stem": self.stem}


class BM25TeacherConfig(_BM25Teacher):
    """BM25 over the corpus (no model)."""

    kind: Literal["bm25"]


class BM25PRFTeacherConfig(_BM25Teacher):
    """BM25 with RM3-style pseudo-relevance feedback over the corpus (no model)."""

    kind: Literal["bm25-prf"]
    fb_docs: StrictInt = Field(10, ge=1, description="feedback documents: the query's BM25 "
                                                     "top FB_DOCS over the corpus")
    fb_terms: StrictInt = Field(10, ge=1, description="expansion terms taken from them")
    original_weight: FiniteFloat = Field(0.5, ge=0, le=1, description="weight of the "
                                         "query's own terms against the expansion terms")


class DenseTeacherConfig(_ModelTeacher):
    """Cosine similarity of a dense embedding model."""

    kind: Literal["dense"]
    embedding_cache: str | None = runtime_only(None, description="embedding cache folder")
    # As mine.precision: the same vectors, so label reuses mine's embedding cache.
    precision: Precision = runtime_only("auto", description="auto = bf16 autocast where the "
                                        "hardware has bf16 dot products (as mine), else fp32")


MemberConfig = Annotated[CrossEncoderTeacherConfig | T5TeacherConfig | LLMJudgeTeacherConfig
                         | QueryLikelihoodTeacherConfig | BM25TeacherConfig | BM25PRFTeacherConfig
                         | DenseTeacherConfig,
                         Field(discriminator="kind")]
"""A teacher that scores pairs itself (any kind but an ensemble: ensembles do not nest)."""


class EnsembleTeacherConfig(_Teacher):
    """Weighted sum of the members' per-query z-scores."""

    kind: Literal["ensemble"]
    members: list[MemberConfig] = Field(description="member teachers")
    weights: list[FiniteFloat] = Field(default_factory=list,
                                       description="weight per member (default: all 1)")

    @model_validator(mode="after")
    def _check(self) -> EnsembleTeacherConfig:
        if not self.members:
            raise ValueError("an ensemble needs members")
        if self.weights and len(self.weights) != len(self.members):
            raise ValueError(f"{len(self.weights)} weights for {len(self.members)} members")
        return self

    def member_weights(self) -> list[float]:
        return list(self.weights) if self.weights else [1.0] * len(self.members)

    def leaves(self) -> list[_Teacher]:
        return list(self.members)


TeacherConfig = Annotated[MemberConfig | EnsembleTeacherConfig, Field(discriminator="kind")]
"""A teacher: one model per kind, chosen by ``kind``; an unknown kind fails validation."""

_TEACHER = TypeAdapter(TeacherConfig)


def teacher_config(data: dict | None = None, /, **fields: Any) -> TeacherConfig:
    """Validate a teacher from a mapping and/or keywords, e.g. ``teacher_config(kind="bm25")``."""
    return _TEACHER.validate_python({**(data or {}), **fields})


def offline_teacher() -> TeacherConfig:
    """The default teacher (preset ``offline``): z(MiniLM cosine) + z(BM25).

    An ensemble of the bundled MiniLM's cosine and BM25, each z-normalized per query and
    summed; it runs offline in seconds on a CPU. Why it is the default:
    ``benchmarks/results/defaults.md``.
    """
    return teacher_config(kind="ensemble", members=[{"kind": "dense", "model": "minilm"},
                                                    {"kind": "bm25"}])


def offline_ql_teacher() -> TeacherConfig:
    """z(MiniLM) + z(BM25) + z(SmolLM2-135M query likelihood): for when CPU hours are available."""
    return teacher_config(kind="ensemble", members=[
        {"kind": "dense", "model": "minilm"},
        {"kind": "bm25"},
        {"kind": "query-likelihood", "model": "smollm2"},
    ])


TEACHER_PRESETS = {"offline": offline_teacher, "offline-ql": offline_ql_teacher}
"""Teachers by name: ``teacher: offline-ql`` in a config file, ``--teacher offline-ql``."""


def teacher_value(value: Any) -> Any:
    """A config's ``teacher`` as written -> a teacher mapping: a preset name expands to
    its config, another name is a kind without settings (``bm25``)."""
    if isinstance(value, str):
        return TEACHER_PRESETS[value]() if value in TEACHER_PRESETS else {"kind": value}
    return value


def with_threads(cfg: TeacherConfig, threads: int) -> TeacherConfig:
    """``cfg`` with ``n_threads`` set on every teacher (member) that runs on CPU threads."""
    if cfg.kind == "ensemble":
        return cfg.model_copy(update={"members": [with_threads(m, threads)
                                                  for m in cfg.members]})
    if "n_threads" in type(cfg).model_fields:
        return cfg.model_copy(update={"n_threads": threads})
    return cfg


class LabelConfig(BaseModel):
    """label: teacher-score each query's fused candidates into training lists.

    Input: ``candidates.jsonl`` (per synthetic query, the fused candidate ids from the
    mine stage) and the corpus; output: ``lists.jsonl``, per kept query ``list_size``
    doc ids best first with normalized scores in [0, 1], the teacher's raw scores and a
    ``train``/``dev`` split. Use it as the ``label:`` section or ``LabelConfig(...)``.

    The steps, in order (reference = the paper's released code):
    1. score the fused top ``score_depth`` (+ the source passage); the reference scores
       100 and drops queries with fewer than ``min_candidates`` = 20 scored candidates
       (the default 0 drops none);
    2. ``require_source_first``: keep a query only if the teacher ranks its source first;
    3. top-score filter, ``top_score_filter``: ``reference`` drops a query whose top
       score is below the ``min_top_percentile``-th percentile of *all* scores of every
       scored candidate of its query type (this drops few queries); ``top_scores`` drops
       one whose top score is below that percentile of all queries' top scores (all types
       pooled; it drops more queries); ``none`` keeps all;
    4. min-max normalization, ``normalize_over``: ``all_scored`` maps the ``norm_low`` /
       ``norm_high`` percentiles of every scored candidate of every query (before any
       filter and before cutting lists to ``list_size``: the reference) to 0 / 1,
       clipped; ``kept_lists`` takes them over the kept lists' top ``list_size`` scores
       only, after filtering;
    5. keep ``list_size`` passages; split train/dev by source passage.
    """

    model_config = ConfigDict(extra="forbid")

    teacher: TeacherConfig = Field(default_factory=offline_teacher,
                                   description="the teacher: a preset name (offline, "
                                   "offline-ql), a kind name (bm25) or a full teacher config "
                                   "(default: the offline preset)")
    score_depth: StrictInt = Field(30, ge=1, description="fused candidates scored per query (N)")
    list_size: StrictInt = Field(20, ge=1, description="passages kept per list, best first (L); "
                           "the only cut: training takes the lists as written")
    require_source_first: bool = Field(True, description="drop queries whose source passage "
                                                         "the teacher does not rank first")
    min_candidates: StrictInt = Field(0, ge=0, description="drop queries with fewer scored "
                                                     "candidates (reference: 20 of 100)")
    top_score_filter: TopScoreFilter = Field(
        "reference", description="reference: drop a query whose top score is below the "
        "min_top_percentile of all scored candidates of its query type; top_scores: below "
        "that percentile of all top scores; none: off")
    min_top_percentile: FiniteFloat | None = Field(25.0, ge=0, le=100,
                                             description="percentile of the top-score "
                                                         "filter (null or negative: off)")
    normalize_over: NormalizeOver = Field(
        "all_scored", description="scores whose norm_low/norm_high percentiles map to 0/1: "
        "all_scored = every scored candidate before filters and the cut (reference); "
        "kept_lists = the kept lists only")
    norm_low: FiniteFloat = Field(1.0, ge=0, le=100, description="percentile mapped to 0")
    norm_high: FiniteFloat = Field(99.0, ge=0, le=100, description="percentile mapped to 1")
    dev_fraction: FiniteFloat = Field(0.1, ge=0, lt=1, description="share of source passages "
                                                             "whose queries go to dev")
    seed: StrictInt = Field(13, description="seed of the train/dev split")
    chunk_queries: StrictInt = runtime_only(32, ge=1, description="queries scored per cache "
                                                                  "flush")

    @field_validator("teacher", mode="before")
    @classmethod
    def _teacher_by_name(cls, value: Any) -> Any:
        return teacher_value(value)

    @field_validator("min_top_percentile", mode="before")
    @classmethod
    def _negative_is_off(cls, value: Any) -> Any:
        negative = isinstance(value, int | float) and -math.inf < value < 0  # -inf: an error
        return None if negative else value
