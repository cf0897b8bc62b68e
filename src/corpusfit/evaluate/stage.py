"""The evaluate stage: base vs specialized students (and BM25, hybrids) on the test data,
plus teacher–student agreement on the dev lists.

Writes ``metrics.json`` (via :func:`corpusfit.evaluate.results.save_results`), one
TREC run file per retriever and ``agreement.json``.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from corpusfit.data.chunking import ChunkConfig
from corpusfit.evaluate.documents import Aggregate
from corpusfit.evaluate.harness import Bm25Unit
from corpusfit.evaluate.labelfree_config import LabelfreeConfig
from corpusfit.fields import added_field
from corpusfit.precision import Precision
from corpusfit.retrieve.settings import (
    Bm25Language,
    EncodeDevices,
    RetrievalSettings,
    setting,
)
from corpusfit.teach.config import TeacherConfig
from corpusfit.workspace import write_json

logger = logging.getLogger(__name__)


class EvaluateConfig(BaseModel):
    """Final evaluation: retrieval metrics on the test data and agreement on dev lists."""

    model_config = ConfigDict(extra="forbid")

    split: str = Field("test", description="qrels split of the test data (qrels/SPLIT.tsv)")
    depth: StrictInt = setting("depth", ge=100, description="documents retrieved per test query")
    rrf_k: StrictInt = setting("rrf_k", ge=1, description="RRF constant for the hybrid retrievers")
    bm25: bool = Field(True, description="also evaluate BM25")
    hybrid: bool = Field(True, description="also evaluate RRF(BM25 + base student) and "
                                           "RRF(BM25 + specialized student)")
    agreement: bool = Field(True, description="teacher–student agreement on the dev lists "
                                              "(Kendall tau, nDCG@10 vs teacher, top-1)")
    headroom_depth: StrictInt = Field(30, ge=0, description="teacher headroom: the run's "
                                      "teacher reranks the base model's top HEADROOM_DEPTH "
                                      "of each test query and of each label-free probe "
                                      "query, compared with the base model (nDCG@10; on "
                                      "probes source-passage MRR@10; paired test); it costs "
                                      "the teacher HEADROOM_DEPTH pairs per test and probe "
                                      "query (cached); 0: off")
    max_dev_lists: StrictInt = Field(1000, ge=1, description="at most this many dev lists for "
                                                       "the agreement numbers")
    aggregate: Aggregate = added_field("maxp", description="when the test documents are split into "
                                 "passages (as ingest.chunk splits the corpus): a document "
                                 "scores by its best passage (maxp), its first (firstp) or the "
                                 "sum of its retrieved passages (sum)")
    bm25_unit: Bm25Unit = added_field("passage", description="with split test documents, BM25 "
                                      "reads their passages, scored as `aggregate` says "
                                      "(passage), or whole documents (document)")
    labelfree: LabelfreeConfig = added_field(
        default_factory=LabelfreeConfig, description="label-free evaluation on held-out "
        "probe passages' synthetic queries (corpusfit.evaluate.labelfree)")
    bm25_language: Bm25Language = setting("bm25_language")
    bm25_stem: bool = setting("bm25_stem")
    batch_tokens: StrictInt = setting("batch_tokens", ge=256)
    precision: Precision = setting("precision", description="fp32 (default): the numbers "
                                   "are the ones sentence-transformers reproduces; auto = "
                                   "bf16 autocast where the hardware has bf16 dot products")
    trust_remote_code: bool = setting("trust_remote_code")
    encode_devices: EncodeDevices = setting("encode_devices")

    def retrieval(self, cache_dir: str | None = None,
                  show_progress: bool = True) -> RetrievalSettings:
        """The settings of the runs this evaluation builds."""
        return RetrievalSettings(depth=self.depth, rrf_k=self.rrf_k,
                                 batch_tokens=self.batch_tokens, cache_dir=cache_dir,
                                 show_progress=show_progress, precision=self.precision,
                                 bm25_language=self.bm25_language, bm25_stem=self.bm25_stem,
                                 trust_remote_code=self.trust_remote_code,
                                 encode_devices=self.encode_devices)


def retriever_specs(config: EvaluateConfig, models: dict[str, str]) -> dict[str, str]:
    """Display name -> harness spec. ``models`` is name -> model (base first)."""
    specs = dict(models)
    names = list(models)
    if config.bm25:
        specs["bm25"] = "bm25"
    if config.hybrid and names:
        specs["hybrid"] = f"rrf:bm25+{models[names[0]]}"
        for name in names[1:2]:  # the specialized model: does BM25 still add to it?
            specs[f"{name}+bm25"] = f"rrf:bm25+{models[name]}"
    return specs


def evaluate_retrieval(config: EvaluateConfig, test_data: Path, models: dict[str, str],
                       out_dir: Path, cache_dir: Path | None,
                       chunk: ChunkConfig | None = None,
                       teacher: TeacherConfig | None = None) -> dict:
    """Metrics of every retriever on the test data; writes run files and metrics.json.

    ``chunk`` splits the test documents into passages as ingest splits the corpus (with
    the base model's tokens); documents then score by their passages (``aggregate``).
    ``teacher``: the run's teacher; its headroom over the base model (see
    :mod:`corpusfit.evaluate.headroom`) goes under ``teacher_headroom``.
    """
    from corpusfit.data.readers import load_beir
    from corpusfit.evaluate.harness import build_harness, first_dense
    from corpusfit.evaluate.results import evaluate_runs, save_results

    data = load_beir(test_data, config.split)
    harness = build_harness(data, config.retrieval(str(cache_dir) if cache_dir else None),
                            chunk, first_dense(list(models.values())), config.aggregate,
                            config.bm25_unit)
    specs = retriever_specs(config, models)
    runs = {}
    for name, spec in specs.items():
        logger.info("evaluate: retrieving with %s (%s)", name, spec)
        runs[name] = harness.run(spec)  # memoized: hybrids reuse the dense runs
    results = evaluate_runs(data.qrels, runs, baseline=next(iter(models), None))
    for name, spec in specs.items():
        results["retrievers"][name]["model"] = spec
    results["test_data"] = str(test_data)
    results["units"] = harness.describe()
    base = next(iter(models), None)
    if teacher is not None and config.headroom_depth > 0 and base is not None:
        results["teacher_headroom"] = _headroom(config, data, runs[base], teacher, cache_dir,
                                                results["per_query"][base])
    save_results(out_dir, runs, results)
    return results


def _headroom(config: EvaluateConfig, data, base_run, teacher: TeacherConfig,
              cache_dir: Path | None, base_per_query: dict[str, float]) -> dict:
    """The teacher's headroom over the base model, scored through the run's score cache
    (``cache_dir/scores``, the label stage's) with dense members' embeddings in
    ``cache_dir`` (no run cache: a throwaway one)."""
    from corpusfit.evaluate.headroom import score_folders, teacher_headroom

    with score_folders(cache_dir) as (scores, embeddings):
        return teacher_headroom(data, base_run, teacher, config.headroom_depth, scores,
                                embeddings, base_per_query)


def _kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau

    if len(a) < 2:
        return float("nan")
    tau = kendalltau(a, b).statistic
    return float(tau) if tau == tau else 0.0  # constant input -> nan; count as no agreement


def _ndcg_vs_teacher(student: np.ndarray, gains: np.ndarray, k: int = 10) -> float:
    order = np.argsort(-student, kind="stable")[:k]
    ideal = np.sort(gains)[::-1][:k]
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    best = float((ideal * disc[: len(ideal)]).sum())
    return float((gains[order] * disc[: len(order)]).sum() / best) if best > 0 else 0.0


def list_agreement(student_scores: np.ndarray, teacher_scores: np.ndarray,
                   teacher_gains: np.ndarray) -> dict[str, float]:
    """How well a student's ranking of one list agrees with the teacher's.

    Args:
        student_scores: (L,) student cosine similarities.
        teacher_scores: (L,) raw teacher scores (their order is the teacher ranking).
        teacher_gains: (L,) teacher scores normalized to [0, 1], used as graded gains.
    """
    return {"kendall_tau": _kendall_tau(student_scores, teacher_scores),
            "ndcg10_vs_teacher": _ndcg_vs_teacher(student_scores, teacher_gains),
            "top1": float(np.argmax(student_scores) == np.argmax(teacher_scores))}


def _dev_lists(lists_path: Path, limit: int) -> list:
    from corpusfit.data.artifacts import TrainingList, iter_artifact

    dev = [r for r in iter_artifact(lists_path, TrainingList) if r.split == "dev"]
    return dev[:limit]


def _mean_by_type(per_list: list[tuple[str, dict]]) -> dict:
    groups: dict[str, list[dict]] = defaultdict(list)
    for qtype, values in per_list:
        groups["all"].append(values)
        groups[qtype].append(values)
    return {t: {"n": len(v), **{m: float(np.nanmean([x[m] for x in v])) for m in v[0]}}
            for t, v in groups.items()}


def agreement_on_dev(models: dict[str, str], lists_path: Path, corpus_path: Path,
                     limit: int, batch_tokens: int, cache_dir: Path | None,
                     trust_remote_code: bool = False) -> dict:
    """Per model: mean agreement with the teacher on dev lists, overall and per query type."""
    from corpusfit.data.readers import load_corpus
    from corpusfit.retrieve.encoder import DenseEncoder
    from corpusfit.retrieve.settings import EncoderOptions

    options = EncoderOptions(trust_remote_code=trust_remote_code)

    dev = _dev_lists(lists_path, limit)
    if not dev:
        logger.warning("evaluate: no dev lists in %s; agreement skipped", lists_path)
        return {}
    corpus = load_corpus(corpus_path)
    doc_ids = sorted({d for r in dev for d in r.doc_ids})
    missing = [d for d in doc_ids if d not in corpus]
    if missing:
        from corpusfit.errors import CorpusfitError
        raise CorpusfitError(f"{lists_path}: {len(missing)} listed doc ids are not in "
                             f"{corpus_path} (e.g. {missing[0]})")
    row = {d: i for i, d in enumerate(doc_ids)}
    out = {}
    cache = str(cache_dir) if cache_dir else None
    for name, model in models.items():
        enc = DenseEncoder.load(model, options)
        d_emb = enc.for_search(enc.encode([corpus[d].full_text() for d in doc_ids], "passage",
                                          batch_tokens=batch_tokens, cache_dir=cache), "passage")
        q_emb = enc.for_search(enc.encode([r.query for r in dev], "query",
                                          batch_tokens=batch_tokens, cache_dir=cache), "query")
        per_list = []
        for qi, rec in enumerate(dev):
            sims = d_emb[[row[d] for d in rec.doc_ids]] @ q_emb[qi]
            per_list.append((rec.type, list_agreement(sims, np.asarray(rec.raw_scores),
                                                      np.asarray(rec.scores))))
        out[name] = _mean_by_type(per_list)
    return out


def evaluate_models(config: EvaluateConfig, out_dir: str | Path, models: dict[str, str],
                    test_data: Path | None = None, lists_path: Path | None = None,
                    corpus_path: Path | None = None, cache_dir: Path | None = None,
                    chunk: ChunkConfig | None = None,
                    teacher: TeacherConfig | None = None) -> tuple[dict, dict, dict]:
    """Evaluate ``models`` (name -> model folder or short name; the base model first).

    Writes ``metrics.json`` (empty without test data), the run files and
    ``agreement.json``; returns (metrics, counts, timings). ``chunk``, ``teacher``: see
    :func:`evaluate_retrieval`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    timings, counts, results = {}, {}, {}
    if test_data is not None:
        t0 = time.perf_counter()
        results = evaluate_retrieval(config, Path(test_data), models, out_dir, cache_dir,
                                     chunk, teacher)
        timings["retrieval_s"] = round(time.perf_counter() - t0, 2)
        counts["test_queries"] = results["n_queries"]
    else:
        logger.warning("evaluate: no test data with qrels; retrieval metrics skipped")
        write_json(out_dir / "metrics.json", {})
    if config.agreement and lists_path is not None and corpus_path is not None:
        t0 = time.perf_counter()
        agreement = agreement_on_dev(models, Path(lists_path), Path(corpus_path),
                                     config.max_dev_lists, config.batch_tokens, cache_dir,
                                     config.trust_remote_code)
        write_json(out_dir / "agreement.json", agreement)
        timings["agreement_s"] = round(time.perf_counter() - t0, 2)
        counts["dev_lists"] = next(iter(agreement.values()), {}).get("all", {}).get("n", 0)
    return results, counts, timings
