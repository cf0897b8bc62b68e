"""A verdict without labels: base vs trained models on the probe queries.

The probe queries (:mod:`corpusfit.stages.probe`) are synthetic queries, one per type, of
passages that no training list was built from. Each model searches the whole corpus for
each of them, and two views judge the runs:

- ``source``: retrieval of the query's source passage (MRR@10, R@10, R@100). InfoNCE
  optimises this directly, so alone it favours InfoNCE-heavy training.
- ``reference``: nDCG@10 against a pseudo-reference that no trained model produced: the
  top ``reference_depth`` passages of RRF(BM25, base model) (or BM25 alone), each counted
  relevant. It rewards agreeing with the untrained retrievers, so it leans towards
  "no change" and against a model that drifts away from both.
- ``combined``: per query the mean of the source MRR@10 and the reference nDCG@10.

Each view's difference (model - base) has a seeded percentile bootstrap interval over
queries, overall and per query type. The verdict in words reads the combined view's
interval: **better** when it lies above 0, **worse** when it lies below 0, **no clear
change** otherwise (:func:`verdict`).

With the run's teacher, the result also holds its headroom on the same probe queries
(``teacher_headroom``, :func:`probe_headroom`): the teacher reranks the base model's top
``evaluate.headroom_depth`` (the reranking of :mod:`corpusfit.evaluate.headroom`) and both
views judge that reranking against the base model, with bootstrap intervals and the
paired permutation p. It is the label-free stand-in for the test queries' headroom.

Use :func:`labelfree_evaluation` for whole run folders, :func:`compare_models` on runs.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import ir_measures
import numpy as np

from corpusfit.evaluate.labelfree_config import LabelfreeConfig
from corpusfit.evaluate.metrics import per_query
from corpusfit.retrieve.fusion import rrf
from corpusfit.retrieve.trec import TrecRun
from corpusfit.teach.config import TeacherConfig

logger = logging.getLogger(__name__)

SOURCE_MEASURES = {"MRR@10": ir_measures.RR @ 10, "R@10": ir_measures.R @ 10,
                   "R@100": ir_measures.R @ 100}
REFERENCE_MEASURES = {"nDCG@10": ir_measures.nDCG @ 10}
COMBINED = "combined"
SOURCE_VIEW = "MRR@10"
BETTER, WORSE, UNCLEAR = "better", "worse", "no clear change"
VERDICT_RULE = ("combined = per probe query the mean of source-passage MRR@10 and nDCG@10 "
                "against the pseudo-reference; better / worse when the bootstrap interval of "
                "its mean difference to the base model lies above / below 0, else no clear "
                "change")


def source_qrels(sources: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """Query id -> {its source passage: 1} (``sources``: query id -> source id)."""
    return {qid: {sid: 1} for qid, sid in sources.items()}


def reference_qrels(runs: list[TrecRun], depth: int, rrf_k: int = 60
                    ) -> dict[str, dict[str, int]]:
    """The pseudo-reference: the top ``depth`` of the RRF of ``runs`` (one run: its own
    top ``depth``), each passage relevant (1)."""
    fused = rrf(runs, k=rrf_k) if len(runs) > 1 else runs[0]
    out = {}
    for qid, docs in fused.items():
        top = sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))[:depth]
        out[qid] = {d: 1 for d, _ in top}
    return out


def query_scores(run: TrecRun, sources: dict, reference: dict) -> dict[str, dict[str, float]]:
    """Metric -> query id -> value of one model's run (``combined`` included)."""
    scores = per_query(sources, run, SOURCE_MEASURES)
    scores.update(per_query(reference, run, REFERENCE_MEASURES))
    scores[COMBINED] = {q: 0.5 * (scores["MRR@10"][q] + scores["nDCG@10"].get(q, 0.0))
                        for q in scores["MRR@10"]}
    return scores


def bootstrap_ci(diffs: np.ndarray, confidence: float, resamples: int, seed: int
                 ) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``diffs`` (seeded; a single or
    constant value gives the value itself)."""
    if len(diffs) < 2 or np.allclose(diffs, diffs[0]):
        mean = float(diffs.mean()) if len(diffs) else 0.0
        return mean, mean
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(resamples, len(diffs)))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def verdict(low: float, high: float) -> str:
    """better / worse / no clear change from an interval of the difference (see
    :data:`VERDICT_RULE`)."""
    if low > 0.0:
        return BETTER
    if high < 0.0:
        return WORSE
    return UNCLEAR


def _delta(base: dict, model: dict, qids: list[str], config: LabelfreeConfig) -> dict:
    d = np.array([model[q] - base[q] for q in qids], dtype=np.float64)
    low, high = bootstrap_ci(d, config.confidence, config.resamples, config.seed)
    return {"base": float(np.mean([base[q] for q in qids])) if qids else 0.0,
            "model": float(np.mean([model[q] for q in qids])) if qids else 0.0,
            "delta": float(d.mean()) if len(d) else 0.0, "ci_low": low, "ci_high": high,
            "n": len(qids)}


def compare_models(base: dict, model: dict, types: Mapping[str, str],
                   config: LabelfreeConfig) -> dict:
    """One model's label-free comparison with the base model.

    Args:
        base, model: :func:`query_scores` of the two runs.
        types: query id -> query type.
        config: the interval's level, resamples and seed.

    Returns:
        ``{"metrics": {metric: {"all": delta, "by_type": {type: delta}}}, "verdict",
        "rule"}`` where a delta is ``{base, model, delta, ci_low, ci_high, n}``.
    """
    by_type: dict[str, list[str]] = defaultdict(list)
    for qid in sorted(types):
        by_type[types[qid]].append(qid)
    qids = sorted(types)
    metrics = {name: {"all": _delta(base[name], model[name], qids, config),
                      "by_type": {t: _delta(base[name], model[name], q, config)
                                  for t, q in sorted(by_type.items())}}
               for name in [*SOURCE_MEASURES, *REFERENCE_MEASURES, COMBINED]}
    combined = metrics[COMBINED]["all"]
    return {"metrics": metrics, "verdict": verdict(combined["ci_low"], combined["ci_high"]),
            "rule": VERDICT_RULE}


def pseudo_reference(bm25: TrecRun, base_run: TrecRun, config: LabelfreeConfig,
                     rrf_k: int = 60) -> dict[str, dict[str, int]]:
    """The reference view's qrels as ``config.reference`` says: RRF(BM25, base) or BM25."""
    refs = [bm25, base_run] if config.reference == "bm25+base" else [bm25]
    return reference_qrels(refs, config.reference_depth, rrf_k)


def headroom_views(base_run: TrecRun, teacher_run: TrecRun, sources: Mapping[str, str],
                   reference: dict, types: Mapping[str, str], config: LabelfreeConfig
                   ) -> dict:
    """The teacher's reranking against the base model's run on the probe queries.

    Returns ``{"metrics": ...}`` as :func:`compare_models` (source MRR@10, R@10, R@100,
    reference nDCG@10, combined; bootstrap intervals, per type), ``p_permutation`` (paired
    permutation p per metric) and ``ahead``: better / worse / no clear change from the
    source MRR@10 interval (the view no untrained retriever's list defines; the reference
    view is built from BM25 and the base model, so it leans towards the base model).
    """
    from corpusfit.evaluate.significance import paired_test

    qrels = source_qrels(sources)
    base = query_scores(base_run, qrels, reference)
    teacher = query_scores(teacher_run, qrels, reference)
    metrics = compare_models(base, teacher, types, config)["metrics"]
    source = metrics[SOURCE_VIEW]["all"]
    return {"metrics": metrics, "ahead": verdict(source["ci_low"], source["ci_high"]),
            "view": SOURCE_VIEW,
            "p_permutation": {m: paired_test(base[m], teacher[m]).p_permutation
                              for m in (SOURCE_VIEW, "nDCG@10", COMBINED)}}


def probe_headroom(base_run: TrecRun, teacher: TeacherConfig, texts: dict[str, str],
                   probes: Mapping[str, str], sources: Mapping[str, str],
                   types: Mapping[str, str], reference: dict, config: LabelfreeConfig,
                   depth: int, cache_dir: Path | None = None) -> dict:
    """The run's teacher's headroom over the base model on the probe queries.

    Args:
        base_run: the base model's run of the probe queries over the corpus.
        teacher: the run's teacher config (``label.teacher``).
        texts: doc id -> text of the searched corpus.
        probes, sources, types: probe query id -> its text, source passage id, type.
        reference: the pseudo-reference (:func:`pseudo_reference`).
        config: ``evaluate.labelfree`` (intervals).
        depth: the base model's top ``depth`` is reranked (``evaluate.headroom_depth``).
        cache_dir: the run's cache (scores under ``scores/``, the label stage's).

    Returns:
        :func:`headroom_views` plus ``teacher`` (id), ``kind``, ``depth``, ``queries``,
        ``reference`` (which pseudo-reference) and the scoring cost (``pairs_scored``,
        ``pairs_cached``, ``seconds``).
    """
    from corpusfit.evaluate.headroom import score_folders, teacher_rerank

    with score_folders(cache_dir) as (scores, embeddings):
        run, cost = teacher_rerank(base_run, teacher, texts, dict(probes), depth, scores,
                                   embeddings)
    views = headroom_views(base_run, run, sources, reference, types, config)
    s = views["metrics"][SOURCE_VIEW]["all"]
    logger.info("label-free: teacher %s on the base model's top %d of %d probe queries: "
                "source MRR@10 %.4f vs %.4f (%+.4f [%+.4f, %+.4f])", teacher.teacher_id(),
                depth, len(probes), s["model"], s["base"], s["delta"], s["ci_low"],
                s["ci_high"])
    return {"teacher": teacher.teacher_id(), "kind": teacher.kind, "depth": depth,
            "queries": len(probes), "reference": config.reference, **views, **cost}


def compare_runs(runs: Mapping[str, TrecRun], bm25: TrecRun, sources: Mapping[str, str],
                 types: Mapping[str, str], config: LabelfreeConfig, rrf_k: int = 60) -> dict:
    """Every model of ``runs`` (name -> run, the base model first) against the base model
    on the probe queries; the pseudo-reference is built from ``bm25`` and the base run.

    Returns ``{"queries", "by_type_queries", "reference", "models": {name: comparison}}``
    (see :func:`compare_models`); the base model is not compared with itself.
    """
    names = list(runs)
    if not names:
        raise ValueError("no model to evaluate")
    reference = pseudo_reference(bm25, runs[names[0]], config, rrf_k)
    qrels = source_qrels(sources)
    scores = {n: query_scores(runs[n], qrels, reference) for n in names}
    counts: dict[str, int] = defaultdict(int)
    for t in types.values():
        counts[t] += 1
    return {"queries": len(types), "by_type_queries": dict(sorted(counts.items())),
            "reference": config.reference, "base": names[0],
            "models": {n: compare_models(scores[names[0]], scores[n], types, config)
                       for n in names[1:]}}


def labelfree_evaluation(config: LabelfreeConfig, corpus: Path, queries: Path,
                         models: dict[str, str], settings, duplicates: Path | None = None,
                         teacher: TeacherConfig | None = None, headroom_depth: int = 0,
                         cache_dir: Path | None = None) -> dict:
    """The label-free comparison of run folders' artifacts.

    Args:
        config: ``evaluate.labelfree``.
        corpus: the ingest ``corpus.jsonl`` (every passage is searched but duplicates).
        queries: the probe ``queries.jsonl``.
        models: name -> model folder or short name, the base model first.
        settings: the :class:`~corpusfit.retrieve.settings.RetrievalSettings` of the runs.
        duplicates: ingest's ``duplicates.jsonl`` (never retrieved, as in mining).
        teacher: the run's teacher; with ``headroom_depth`` > 0 its headroom on the probe
            queries goes under ``teacher_headroom`` (:func:`probe_headroom`), its scores
            through ``cache_dir``'s score cache.

    Returns:
        :func:`compare_runs`' result; ``{"queries": 0, "models": {}}`` without probes.
    """
    from corpusfit.data.artifacts import SyntheticQuery, load_artifact
    from corpusfit.data.ids import read_id_file
    from corpusfit.data.readers import load_corpus
    from corpusfit.retrieve.retrievers import Retrievers

    probes = load_artifact(queries, SyntheticQuery) if Path(queries).stat().st_size else []
    if not probes:
        return {"queries": 0, "models": {}, "reference": config.reference}
    docs = load_corpus(corpus)
    skip = set(read_id_file(duplicates)) if duplicates is not None else set()
    ids = [i for i in docs if i not in skip]
    retrievers = Retrievers(ids, [docs[i].full_text() for i in ids], [p.qid for p in probes],
                            [p.query for p in probes], settings)
    runs = {name: retrievers.run(spec) for name, spec in models.items()}
    bm25 = retrievers.run("bm25")
    sources, types = {p.qid: p.source_id for p in probes}, {p.qid: p.type for p in probes}
    result = compare_runs(runs, bm25, sources, types, config, settings.rrf_k)
    if teacher is not None and headroom_depth > 0:
        base = runs[next(iter(models))]
        result["teacher_headroom"] = probe_headroom(
            base, teacher, {i: docs[i].full_text() for i in ids},
            {p.qid: p.query for p in probes}, sources, types,
            pseudo_reference(bm25, base, config, settings.rrf_k), config, headroom_depth,
            cache_dir)
    for name, comparison in result["models"].items():
        c = comparison["metrics"][COMBINED]["all"]
        logger.info("label-free (%d probe queries): %s vs base %+.4f [%+.4f, %+.4f]: %s",
                    result["queries"], name, c["delta"], c["ci_low"], c["ci_high"],
                    comparison["verdict"])
    return result
