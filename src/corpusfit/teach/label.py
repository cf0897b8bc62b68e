"""The label stage: teacher-score each query's fused candidates into ``lists.jsonl``.

Scores go through the score cache (one append-only file per shard), so a
crash keeps every flushed chunk, a rerun scores only what is missing, and
``shard=(i, n)`` processes every n-th query from the i-th (0-based) so slices
can run on several machines; the unsharded run then joins their scores.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from tqdm.auto import tqdm

from corpusfit.data.artifacts import Candidates, artifact_file, load_artifact, write_artifact
from corpusfit.errors import CorpusfitError
from corpusfit.teach.base import build_teacher
from corpusfit.teach.config import LabelConfig, TeacherConfig
from corpusfit.teach.lists import ScoredList, build_training_lists
from corpusfit.teach.scoring import CachedScorer

logger = logging.getLogger(__name__)

LISTS = artifact_file("lists")


def _corpus_texts(corpus: str | Path) -> dict[str, str]:
    from corpusfit.data.readers import load_corpus

    return {d: doc.full_text() for d, doc in load_corpus(corpus).items()}


def _scored_docs(cand: Candidates, depth: int, texts: dict[str, str]) -> list[str]:
    """The fused top-``depth``, plus the source passage when fusion ranked it lower."""
    docs = list(cand.doc_ids[:depth])
    if cand.source_id not in docs and cand.source_id in texts:
        docs.append(cand.source_id)  # the known positive is always judged
    missing = [d for d in docs if d not in texts]
    if missing:
        raise CorpusfitError(f"query {cand.qid}: candidate {missing[0]} is not in the corpus "
                             "(was mine run on another corpus?)")
    return docs


def with_embedding_cache(teacher: TeacherConfig, folder: Path) -> TeacherConfig:
    """Dense members (and a dense teacher) keep passage embeddings next to the score cache."""
    if teacher.kind == "dense" and teacher.embedding_cache is None:
        return teacher.model_copy(update={"embedding_cache": str(folder)})
    if teacher.kind == "ensemble":
        members = [with_embedding_cache(m, folder) for m in teacher.members]
        return teacher.model_copy(update={"members": members})
    return teacher


def score_candidates(cands: list[Candidates], scorer: CachedScorer, config: LabelConfig,
                     texts: dict[str, str]) -> list[ScoredList]:
    """Score every query's candidates in chunks; each chunk is flushed to the cache."""
    out: list[ScoredList] = []
    step = config.chunk_queries
    bar = tqdm(total=len(cands), desc="label", unit="query")
    for start in range(0, len(cands), step):
        chunk = cands[start:start + step]
        docs = [_scored_docs(c, config.score_depth, texts) for c in chunk]
        scores = scorer.score_lists([(c.query, d) for c, d in zip(chunk, docs)])
        for c, d, s in zip(chunk, docs, scores):
            out.append(ScoredList.sorted_from(c.qid, c.query, c.type, c.source_id, d, s,
                                              config.list_size))
        bar.update(len(chunk))
        bar.set_postfix(pairs_per_s=f"{scorer.stats.pairs_per_second() or 0:.1f}")
    bar.close()
    return out


def label_candidates(config: LabelConfig, candidates: str | Path, corpus: str | Path,
                     out_dir: str | Path, cache_dir: str | Path | None = None,
                     shard: tuple[int, int] | None = None,
                     embedding_cache: str | Path | None = None) -> tuple[dict, dict]:
    """Score candidates with the configured teacher and write ``lists.jsonl``.

    Returns the (counts, timings) of the manifest.

    Args:
        config: the label config (teacher, depth, filters, split).
        candidates: ``candidates.jsonl`` of the mine stage.
        corpus: the corpus the candidates were mined from.
        out_dir: output folder.
        cache_dir: score cache root (default ``out_dir/scores``); share it across runs.
        shard: score only slice ``(i, n)`` into the cache; lists are written by an
            unsharded run, which then rescores nothing the slices did.
        embedding_cache: where dense teacher members cache embeddings (default
            ``cache_dir/embeddings``); the pipeline passes the mine stage's cache, so
            passages the retrievers already encoded are not encoded again.
    """
    out_dir = Path(out_dir)
    cands = load_artifact(candidates, Candidates)
    if shard is not None:
        cands = [c for k, c in enumerate(cands) if k % shard[1] == shard[0]]
    texts = _corpus_texts(corpus)
    cache_root = Path(cache_dir or out_dir / "scores")
    teacher = with_embedding_cache(config.teacher,
                                   Path(embedding_cache or cache_root / "embeddings"))
    scorer = CachedScorer(build_teacher(teacher, corpus=texts), texts, cache_root, shard)
    start = time.perf_counter()
    try:
        scored = score_candidates(cands, scorer, config, texts)
    finally:
        scorer.close()
    st = scorer.stats
    timings = {"seconds": time.perf_counter() - start, "scoring_seconds": st.seconds,
               "pairs_per_s": st.pairs_per_second() or 0.0,
               "pairs_per_cpu_s": st.pairs_per_cpu_second() or 0.0}
    counts = {"candidates": len(cands), "pairs_scored": st.scored, "pairs_cached": st.cached}
    if shard is not None:
        return {**counts, "scored": len(scored)}, timings
    records, list_counts, norm = build_training_lists(scored, config)
    write_artifact(out_dir / LISTS, records)
    counts.update(list_counts)
    return counts, {**timings, "norm_low_value": norm["low"], "norm_high_value": norm["high"]}
