"""Teacher headroom: how much better the run's teacher ranks the test queries than the
student it teaches.

Distillation can only teach what the teacher knows beyond the student. The headroom is
measured the way the teacher is used: it reranks the base model's top ``depth`` of each
test query (the rest of its run follows in its own order), and nDCG@10 of that
reranking is compared, query by query (paired test of
:mod:`corpusfit.evaluate.significance`), with the base model's own ranking. Scores go
through the label stage's score cache (:class:`corpusfit.teach.scoring.CachedScorer`),
so a rerun — or a test query the label stage already scored — costs nothing.

Use it as ``teacher_headroom(data, base_run, teacher, depth=30, cache_root=...)``; the
evaluate stage writes its result under ``teacher_headroom`` in ``metrics.json``. The same
reranking (:func:`teacher_rerank`) judged on the held-out synthetic queries, for runs
without labels, is :func:`corpusfit.evaluate.labelfree.probe_headroom`.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from corpusfit.data.readers import BeirData
from corpusfit.evaluate.metrics import per_query
from corpusfit.evaluate.significance import paired_test
from corpusfit.retrieve.trec import TrecRun, ranked
from corpusfit.teach.base import build_teacher
from corpusfit.teach.config import TeacherConfig
from corpusfit.teach.scoring import CachedScorer

logger = logging.getLogger(__name__)

PRIMARY = "nDCG@10"
CHUNK = 32  # queries per scoring call (flushed to the cache after each)


def with_cache_folder(teacher: TeacherConfig, folder: Path) -> TeacherConfig:
    """``teacher`` with its dense members' embedding cache in ``folder`` (as the label
    stage sets it), so passages the evaluate stage already encoded are not encoded again."""
    from corpusfit.teach.label import with_embedding_cache

    return with_embedding_cache(teacher, folder)


def rerank_run(scorer: CachedScorer, queries: dict[str, str],
               candidates: dict[str, list[str]]) -> TrecRun:
    """Each query's candidates scored by the teacher (query id -> doc id -> score)."""
    qids = [q for q in candidates if candidates[q]]
    run: TrecRun = {}
    for start in range(0, len(qids), CHUNK):
        chunk = qids[start:start + CHUNK]
        scores = scorer.score_lists([(queries[q], candidates[q]) for q in chunk])
        for q, ss in zip(chunk, scores):
            run[q] = {d: float(s) for d, s in zip(candidates[q], ss)}
    return run


def reranked_top(base: dict[str, float], teacher: dict[str, float]) -> dict[str, float]:
    """One query's run: the teacher's order of the documents it scored, then the rest of
    the base run in its own order (scores are ranks, highest first)."""
    order = [d for d, _ in ranked(teacher)]
    order += [d for d, _ in ranked(base) if d not in teacher]
    return {d: float(len(order) - i) for i, d in enumerate(order)}


def teacher_rerank(base_run: TrecRun, teacher: TeacherConfig, texts: dict[str, str],
                   queries: dict[str, str], depth: int, cache_root: Path,
                   embedding_cache: Path | None = None) -> tuple[TrecRun, dict]:
    """``teacher`` reranking ``base_run``'s top ``depth`` of each query in ``queries``.

    The one reranking both headrooms use: on the test queries (:func:`teacher_headroom`)
    and on the label-free probe queries (:mod:`corpusfit.evaluate.labelfree`).

    Args:
        base_run: the base model's run (query id -> doc id -> score).
        teacher: the run's teacher (``label.teacher``).
        texts: doc id -> text of every document the teacher may see (BM25 members take
            their term statistics from it).
        queries: query id -> text of the queries reranked.
        depth: candidates reranked per query.
        cache_root: the score cache root (the label stage's ``cache/scores``).
        embedding_cache: where dense members keep passage embeddings.

    Returns:
        (the reranked run: per query the teacher's order of the top ``depth``, then the
        rest of the base run, see :func:`reranked_top`; the cost: ``pairs_scored``,
        ``pairs_cached``, ``seconds``).
    """
    if embedding_cache is not None:
        teacher = with_cache_folder(teacher, Path(embedding_cache))
    candidates = {q: [d for d, _ in ranked(base_run.get(q, {}), depth)] for q in queries}
    scorer = CachedScorer(build_teacher(teacher, corpus=texts), texts, cache_root)
    start = time.perf_counter()
    try:
        run = rerank_run(scorer, queries, candidates)
    finally:
        scorer.close()
    seconds = time.perf_counter() - start
    run = {q: reranked_top(base_run.get(q, {}), run.get(q, {})) for q in queries}
    return run, {"pairs_scored": scorer.stats.scored, "pairs_cached": scorer.stats.cached,
                 "seconds": round(seconds, 2)}


def teacher_headroom(data: BeirData, base_run: TrecRun, teacher: TeacherConfig,
                     depth: int, cache_root: Path, embedding_cache: Path | None = None,
                     base_per_query: dict[str, float] | None = None) -> dict:
    """nDCG@10 of ``teacher`` reranking ``base_run``'s top ``depth`` against ``base_run``.

    Args:
        data: the test collection (its judged queries and documents).
        base_run: the base model's run on it.
        teacher: the run's teacher (``label.teacher``).
        depth: candidates reranked per query.
        cache_root: the score cache root (the label stage's ``cache/scores``).
        embedding_cache: where dense members keep passage embeddings.
        base_per_query: the base run's per-query nDCG@10, when already computed.

    Returns:
        a JSON-able record: the teacher, depth, both means, delta, paired p-values, the
        number of queries, and what the teacher scored anew and took from the cache.
    """
    texts = {d: doc.full_text() for d, doc in data.corpus.items()}
    queries = {q: data.queries[q].text for q in data.qrels if q in data.queries}
    run, cost = teacher_rerank(base_run, teacher, texts, queries, depth, cache_root,
                               embedding_cache)
    student = base_per_query if base_per_query is not None \
        else per_query(data.qrels, base_run)[PRIMARY]
    reranked = per_query(data.qrels, run)[PRIMARY]
    test = paired_test(student, reranked)
    logger.info("evaluate: teacher %s on the base model's top %d: nDCG@10 %.4f vs %.4f "
                "(p = %.3g)", teacher.teacher_id(), depth, test.mean_b, test.mean_a,
                test.p_permutation)
    return {"teacher": teacher.teacher_id(), "kind": teacher.kind, "depth": depth,
            "metric": PRIMARY, "n_queries": test.n, "student": test.mean_a,
            "teacher_reranked": test.mean_b, "delta": test.delta, "p_ttest": test.p_ttest,
            "p_permutation": test.p_permutation, **cost}


@contextmanager
def score_folders(cache_dir: Path | None) -> Iterator[tuple[Path, Path]]:
    """(score cache root, embedding cache) of a run: ``cache_dir/scores`` (the label
    stage's) and ``cache_dir``; a throwaway folder for both when there is no run cache."""
    if cache_dir is not None:
        yield Path(cache_dir) / "scores", Path(cache_dir)
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp) / "scores", Path(tmp)
