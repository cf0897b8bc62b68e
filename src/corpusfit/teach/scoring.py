"""Score (query, doc id) lists with a teacher through the score cache.

Only pairs missing from the cache reach the teacher; an ensemble's members
are cached one by one (their raw scores are per pair, while the ensemble's
z-scores depend on the whole list and are recomputed, which is cheap).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from corpusfit.errors import CorpusfitError
from corpusfit.numbers import first_non_finite
from corpusfit.teach.base import Teacher
from corpusfit.teach.cache import ScoreCache
from corpusfit.teach.ensemble import EnsembleTeacher

logger = logging.getLogger(__name__)

DocList = tuple[str, list[str]]
"""(query text, doc ids)."""


@dataclass
class ScoringStats:
    """What the teacher actually had to do (cache hits cost nothing)."""

    cached: int = 0
    scored: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    by_member: dict[str, dict[str, float]] = field(default_factory=dict)

    def pairs_per_second(self) -> float | None:
        return self.scored / self.seconds if self.seconds > 0 else None

    def pairs_per_cpu_second(self) -> float | None:
        """Throughput per CPU-second of this process: fair on a machine shared with others."""
        return self.scored / self.cpu_seconds if self.cpu_seconds > 0 else None


class CachedScorer:
    """A teacher plus the corpus texts plus one :class:`ScoreCache` per (member) teacher."""

    def __init__(self, teacher: Teacher, texts: Mapping[str, str],
                 cache_root: str | os.PathLike, shard: tuple[int, int] | None = None):
        self.teacher = teacher
        self.texts = texts
        self.members = teacher.members if isinstance(teacher, EnsembleTeacher) else [teacher]
        self.caches = {m.teacher_id: ScoreCache(cache_root, m.teacher_id, shard)
                       for m in self.members}
        self.stats = ScoringStats()

    def _member_scores(self, member: Teacher, lists: Sequence[DocList]) -> list[list[float]]:
        cache = self.caches[member.teacher_id]
        texts = self.texts
        todo = list(dict.fromkeys((q, d) for q, docs in lists for d in docs
                                  if cache.get(q, d, texts[d]) is None))
        n_pairs = sum(len(docs) for _, docs in lists)
        self.stats.cached += n_pairs - len(todo)
        if todo:
            start, cpu_start = time.perf_counter(), time.process_time()
            scores = self._score_new(member, todo)
            took, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            for (q, d), s in zip(todo, scores):
                cache.put(q, d, s, texts[d])
            cache.flush()
            self.stats.scored += len(todo)
            self.stats.seconds += took
            self.stats.cpu_seconds += cpu
            entry = self.stats.by_member.setdefault(
                member.teacher_id, {"pairs": 0, "seconds": 0.0, "cpu_seconds": 0.0})
            entry["pairs"] += len(todo)
            entry["seconds"] += took
            entry["cpu_seconds"] += cpu
        return [[cache.get(q, d, texts[d]) for d in docs] for q, docs in lists]

    def _score_new(self, member: Teacher, todo: list[tuple[str, str]]) -> list[float]:
        # Regroup by query so list-wise members (BM25) see each query once.
        by_query: dict[str, list[str]] = {}
        for q, d in todo:
            by_query.setdefault(q, []).append(d)
        lists = [(q, [self.texts[d] for d in docs]) for q, docs in by_query.items()]
        scored = member.score_lists(lists)
        lookup = {(q, d): s for (q, docs), ss in zip(by_query.items(), scored)
                  for d, s in zip(docs, ss)}
        out = [lookup[p] for p in todo]
        bad = first_non_finite(out)
        if bad is not None:  # before the cache: a NaN would otherwise be kept for good
            q, d = todo[bad]
            raise CorpusfitError(f"teacher {member.teacher_id} gave a non-finite score "
                                 f"({out[bad]}) to query {q!r} and passage {d!r}")
        return out

    def score_lists(self, lists: Sequence[DocList]) -> list[list[float]]:
        """Teacher scores of each query's doc ids, in order."""
        per_member = [self._member_scores(m, lists) for m in self.members]
        if isinstance(self.teacher, EnsembleTeacher):
            return [self.teacher.combine([pm[i] for pm in per_member]) for i in range(len(lists))]
        return per_member[0]

    def close(self) -> None:
        for cache in self.caches.values():
            cache.close()
