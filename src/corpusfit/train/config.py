"""The train stage's configuration: every default lives here, validated once."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from corpusfit.fields import added_field, runtime_only
from corpusfit.numbers import FiniteFloat
from corpusfit.precision import Precision
from corpusfit.retrieve.settings import EncoderOptions, setting

LossName = Literal["listwise", "infonce", "infonce_plain", "marginmse"]
Mode = Literal["auto", "full", "query_only"]
Warmup = Literal["reference", "fraction"]
Init = Literal["base", "previous"]
WarmLists = Literal["new_queries", "changed"]
Guard = Literal["dev_loss", "dev_loss+labelfree"]

PAPER_LR = 2e-4
PAPER_QUERIES_PER_STEP = 4096
# The smallest default lr: sqrt-scaling the paper's lr to CPU-size batches would go below
# sentence-transformers' usual fine-tuning lr (measurements: benchmarks/results/defaults.md).
LR_FLOOR = 2e-5
# The CPU recipe (full mode on short lists) and the GPU one; see TrainConfig.
CPU_PASSAGES, CPU_EPOCHS, GPU_EPOCHS = 4, 3, 10
CPU_QUERIES_PER_STEP, GPU_QUERIES_PER_STEP = 16, 64
# gradcache auto: plain backprop while a step embeds at most this many chunks of texts.
GRADCACHE_CHUNKS = 4
# init previous: share of the unchanged lists trained on again. A corpus grown by 20% has
# about one new list per four old ones, so 0.25 mixes old and new about 1:1 (not measured).
REPLAY = 0.25


class LossConfig(BaseModel):
    """Temperatures of the loss terms and InfoNCE's false-negative threshold.

    The listwise term is KL(teacher || student) over one query's list: the teacher's
    normalized scores divided by ``teacher_temperature`` and the student's cosines divided
    by ``student_temperature``, each softmaxed over the list (L passages). InfoNCE
    contrasts each query's source passage against every other passage of the batch
    (queries_per_step x passages), cosines divided by ``infonce_temperature``, leaving out
    passages the teacher scored above ``false_negative_ratio`` of its top score.

    Two differ from the paper: ``teacher_temperature`` 0.1 (paper 0.3, suited to a
    cross-encoder teacher's spread of scores) and ``infonce_temperature`` 0.05 (paper
    0.01, suited to GPU-size batches); why: ``benchmarks/results/defaults.md``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    student_temperature: FiniteFloat = Field(0.05, gt=0, description="divides the student's "
                                             "cosines in the listwise term")
    teacher_temperature: FiniteFloat = Field(0.1, gt=0, description="paper: 0.3 (cross-encoder)")
    infonce_temperature: FiniteFloat = Field(0.05, gt=0, description="divides the "
                                             "student's cosines in InfoNCE")
    false_negative_ratio: FiniteFloat = Field(0.6, ge=0, le=1, description="InfoNCE masks a "
                                              "passage scored above this share of the "
                                              "top teacher score (a likely false negative)")


class TrainConfig(BaseModel):
    """How to train a student on ``lists.jsonl``.

    It reads the label stage's lists (one query, its passages in teacher order and their
    normalized scores), trains the student on the ``objective`` (loss name -> weight) for
    ``epochs`` over batches of ``queries_per_step`` queries, scores each epoch on the dev
    lists and keeps the best epoch, or the base model when it scores better. Use it as a
    config section (``train:``) or ``TrainConfig(epochs=1)``; the ``auto`` values become
    concrete for the device with :meth:`resolved`.

    The defaults: listwise KL + 1.0 InfoNCE; ``mode="auto"`` = full (both towers train); on a
    CPU each list's top 4 passages for 3 epochs and at most 15 minutes (``passages_per_query``,
    ``epochs``, ``max_minutes`` = ``auto``; ``max_minutes=None`` for runs that do not depend on
    machine speed), on a GPU whole lists for 10 epochs; ``queries_per_step="auto"``: 16 queries
    per step on a CPU, 64 on a GPU (GradCache keeps memory flat, so raise it for tens of
    thousands of lists); ``lr=None`` = the paper's 2e-4 at 4096 queries scaled by sqrt(batch
    ratio), at least 2e-5 (``LR_FLOOR``); ``hard_negative_slot=True`` keeps one passage below
    the false-negative threshold in a list cut to 4, so InfoNCE has a hard negative. The
    measurements behind each are in ``benchmarks/results/defaults.md``.

    Reference-faithful choices (the paper's released code), each switchable:
    - ``warmup="reference"``: warm up from lr 0 over max(``warmup_min_steps``,
      ``warmup_epochs`` of an epoch) optimizer steps (capped at half the planned steps so
      that a short run still decays), then decay linearly to ``final_lr_ratio`` at the
      last planned step. ``"fraction"``: warmup over ``warmup_ratio`` of
      the planned steps, starting at 1/warmup of the peak.
    - ``dropout=0.0``: every dropout probability of the student (its transformer config
      and its modules) is set to this value for training; the reference trains without
      dropout. ``None`` keeps the model's own (``true``/``false`` of older configs mean
      ``None``/``0.0``).
    - ``keep_base_if_better=True``: the untrained student is scored on the dev lists
      before the first step, with the same dev loss early stopping uses, and competes with
      every checkpoint; when it wins, the exported folder is the base model (saved like a
      trained one) and the log, the manifest's ``result``, the model card and the report
      say so. With ``False`` the best trained checkpoint is kept regardless (a warning
      names the base model's lower dev loss).

    Incremental runs (:mod:`corpusfit.train.warmstart`): ``init="previous"`` starts from the
    model this stage folder kept last time, when it was trained from the same student in
    the same mode, and trains on the lists whose query it has not learned (``warm_lists``)
    plus a ``replay`` share (default 0.25, about 1:1 old to new on a corpus grown by 20%)
    of the others, so a run costs steps in proportion to its new queries. The guard then
    scores both the base student and the previous model before the first step; the
    exported model is the best of base, previous and every checkpoint.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    student: str = Field("minilm", description="model to specialize: a local folder, a "
                         "bundled name (minilm) or a hub id already in the local cache")
    mode: Mode = Field("auto", description="full = both towers train; query_only = the "
                       "query side against frozen passage vectors (cheap); auto = full")
    objective: dict[LossName, FiniteFloat] = Field(
        default_factory=lambda: {"listwise": 1.0, "infonce": 1.0},
        description="loss name -> weight (listwise KL to the teacher, masked InfoNCE, "
        "infonce_plain without the mask, marginmse)")
    loss: LossConfig = Field(default_factory=LossConfig)
    queries_per_step: Annotated[StrictInt, Field(ge=1)] | Literal["auto"] = Field(
        "auto", description="queries per optimizer step; auto = 16 on a CPU (small "
        "synthetic sets need steps more than big batches), 64 on a GPU")
    chunk_size: StrictInt = Field(32, ge=1, description="texts per GradCache chunk")
    gradcache: bool | Literal["auto"] = Field(
        "auto", description="GradCache: memory flat in queries_per_step (two forward "
        "passes per chunk); auto = on when a step embeds more than "
        f"{GRADCACHE_CHUNKS} chunks of texts, else plain backprop (one forward pass)")
    lr: FiniteFloat | None = Field(None, gt=0, description="None: the paper's 2e-4 at 4096 "
                                   "queries scaled by sqrt(batch ratio), at least 2e-5")
    weight_decay: FiniteFloat = Field(0.01, ge=0, description="AdamW weight decay")
    warmup: Warmup = Field("reference", description="reference: from lr 0 over max("
                           "warmup_min_steps, warmup_epochs x steps per epoch) steps; "
                           "fraction: over warmup_ratio of the planned steps")
    warmup_min_steps: StrictInt = Field(10, ge=0, description="reference warmup: at least this "
                                                        "many optimizer steps")
    warmup_epochs: FiniteFloat = Field(0.5, ge=0, description="reference warmup: at least this "
                                                        "share of an epoch")
    warmup_ratio: FiniteFloat = Field(0.1, ge=0, lt=1, description="fraction warmup: share of "
                                                             "the planned steps")
    final_lr_ratio: FiniteFloat = Field(0.1, ge=0, le=1, description="lr at the last planned "
                                        "step, as a share of the peak (linear decay)")
    max_grad_norm: FiniteFloat = Field(1.0, gt=0, description="gradient clipping norm")
    passages_per_query: Annotated[StrictInt, Field(ge=2)] | Literal["auto"] | None = Field(
        "auto", description="train on N passages of each list: the teacher's top N (see "
        "hard_negative_slot; the stored lists stay as label cut them); null = the whole "
        "list; auto = 4 on a "
        "CPU, the whole list on a GPU. Full mode costs about N passage encodings per query")
    hard_negative_slot: bool = Field(True, description="when passages_per_query cuts a "
                                     "list and its first N are all above the false-negative "
                                     "threshold, the last slot takes the best-ranked passage "
                                     "below it (a hard negative, as MNRL mines)")
    epochs: Annotated[StrictInt, Field(ge=1)] | Literal["auto"] = Field(
        "auto", description="passes over the train lists; auto = 3 on a CPU, 10 on a GPU")
    patience: StrictInt = Field(2, ge=1, description="epochs without a better dev loss before "
                          "stopping")
    max_minutes: FiniteFloat | Literal["auto"] | None = Field(
        "auto", description="wall-time budget of one invocation; auto = 15 on CPU, none on GPU")
    dropout: FiniteFloat | None = Field(0.0, ge=0, lt=1, description="dropout probability while "
                                  "training (reference: 0); null keeps the model's own")
    keep_base_if_better: bool = Field(True, description="score the base model on the dev "
                                      "lists before training and keep it when no "
                                      "checkpoint beats it")
    init: Init = added_field("base", description="where training starts: base = the "
                             "student; previous = the model this stage kept last time (same "
                             "student), trained on the lists of new queries (warm_lists) plus "
                             "a replayed share of the others (falls back to base when there "
                             "is none)")
    replay: FiniteFloat = added_field(REPLAY, ge=0, le=1, description="init previous: share "
                                      "of the other lists trained on again beside the "
                                      "new ones (drawn with the seed)")
    warm_lists: WarmLists = added_field(
        "new_queries", description="init previous: the lists trained as new: new_queries = "
        "those whose query the previous model has not learned (a new passage's, a changed "
        "query), the others replayed at REPLAY with their current passages and scores; "
        "changed = also every list whose passages or teacher scores moved (when the corpus "
        "grows, most lists do)")
    seed: StrictInt = Field(42, description="seed of initialization and list order")
    query_max_length: StrictInt | None = setting("query_max_length", ge=4)
    passage_max_length: StrictInt | None = setting("passage_max_length", ge=4)
    prompts: dict[str, str] = setting("prompts")
    query_prompt_name: str | None = setting("query_prompt_name")
    document_prompt_name: str | None = setting("document_prompt_name")
    truncate_dim: StrictInt | None = setting("truncate_dim", ge=1)
    trust_remote_code: bool = setting("trust_remote_code")
    checkpoint_every: StrictInt = Field(20, ge=1, description="optimizer steps between checkpoints")
    keep_checkpoint: bool = Field(False, description="keep the resume checkpoint after a "
                                  "finished run (it is deleted by default)")
    cache_dir: str | None = runtime_only(None, description="embedding cache (query-only "
                                                           "passages)")
    eval_data: str | None = Field(None, description="BEIR folder to evaluate base vs trained")
    guard: Guard = added_field("dev_loss", description="what keeps training never worse: "
                               "dev_loss = the base model competes with every checkpoint on "
                               "the dev loss; dev_loss+labelfree = that, and then the "
                               "label-free verdict on the probe queries (evaluate.labelfree) "
                               "exports the base model when it finds the kept checkpoint "
                               "worse")
    probe_queries: str | None = added_field(None, description="the probe queries.jsonl the "
                                            "dev_loss+labelfree guard reads (the pipeline "
                                            "sets it)")
    device: str | None = runtime_only(None, description="cpu, cuda, cuda:1 ... (default: cuda "
                                                         "if available)")
    precision: Precision = runtime_only("auto", description="auto = bf16 autocast on a bf16 "
                                        "GPU or a CPU with AMX or AVX512_BF16, else fp32; "
                                        "weights and the optimizer stay fp32")

    @model_validator(mode="before")
    @classmethod
    def _list_size_moved(cls, data: object) -> object:
        if isinstance(data, dict) and "list_size" in data:  # configs of earlier versions
            raise ValueError("list_size is now set once, as label.list_size: the label stage "
                             "sorts and cuts the lists, training takes them as written")
        return data

    @field_validator("max_minutes")
    @classmethod
    def _budget(cls, v: float | str | None) -> float | str | None:
        if isinstance(v, float | int) and v <= 0:
            raise ValueError("max_minutes must be > 0")
        return v

    @field_validator("dropout", mode="before")
    @classmethod
    def _dropout(cls, v: object) -> object:
        if isinstance(v, bool):  # older configs: true = the model's own, false = none
            return None if v else 0.0
        return v

    @field_validator("objective")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or all(w == 0 for w in v.values()):
            raise ValueError("objective needs at least one loss with a non-zero weight")
        if any(w < 0 for w in v.values()):
            raise ValueError("loss weights must be >= 0")
        return v

    def encoder_options(self) -> EncoderOptions:
        """How the student encodes (prompts, lengths, truncation); saved with the model."""
        return EncoderOptions(**{name: getattr(self, name)
                                 for name in EncoderOptions.model_fields})

    def learning_rate(self) -> float:
        """The configured lr, else the paper's lr scaled by sqrt(batch / 4096), at least
        ``LR_FLOOR``."""
        if self.lr is not None:
            return self.lr
        if self.queries_per_step == "auto":
            raise ValueError("learning_rate() needs a resolved config (queries_per_step auto)")
        scaled = PAPER_LR * math.sqrt(self.queries_per_step / PAPER_QUERIES_PER_STEP)
        return max(scaled, LR_FLOOR)

    def warmup_steps(self, total_steps: int, steps_per_epoch: int) -> int:
        """Optimizer steps of linear warmup for a run of ``total_steps`` planned steps."""
        if self.warmup == "fraction":
            return int(round(self.warmup_ratio * total_steps))
        wanted = max(self.warmup_min_steps, math.ceil(self.warmup_epochs * steps_per_epoch))
        return min(wanted, total_steps // 2)

    def time_budget(self, device_type: str) -> float | None:
        """Seconds this invocation may train, or None for no limit."""
        if self.max_minutes == "auto":
            return 15 * 60.0 if device_type == "cpu" else None
        return None if self.max_minutes is None else 60.0 * self.max_minutes

    def resolved_mode(self) -> Literal["full", "query_only"]:
        """``mode`` with ``auto`` made concrete: ``full`` on every device."""
        return "full" if self.mode == "auto" else self.mode

    def resolved(self, device_type: str) -> TrainConfig:
        """A copy with every ``auto`` made concrete for ``device_type`` (cpu, cuda...)."""
        cpu = device_type == "cpu"
        passages = self.passages_per_query
        if passages == "auto":
            passages = CPU_PASSAGES if cpu else None
        epochs = self.epochs
        if epochs == "auto":
            epochs = CPU_EPOCHS if cpu else GPU_EPOCHS
        queries = self.queries_per_step
        if queries == "auto":
            queries = CPU_QUERIES_PER_STEP if cpu else GPU_QUERIES_PER_STEP
        gradcache = self.gradcache
        if gradcache == "auto":  # a whole list (passages None) may be long: GradCache
            texts = queries * (passages + 1) if passages else math.inf
            gradcache = texts > GRADCACHE_CHUNKS * self.chunk_size
        return self.model_copy(update={"mode": self.resolved_mode(),
                                       "passages_per_query": passages, "epochs": epochs,
                                       "queries_per_step": queries, "gradcache": gradcache})
