"""The teacher interface and registry.

A teacher scores a query against passages (higher = more relevant). Pairwise
teachers implement :meth:`Teacher.score_pairs`, a batched call over pairs of
*different* queries so that backends can regroup work (query likelihood
groups by passage to reuse its KV cache). The ensemble scores whole lists,
because its z-normalization is per query.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from corpusfit.teach.config import TeacherConfig

Pair = tuple[str, str]
"""(query text, passage text)."""


class Teacher(ABC):
    """Scores (query, passage) pairs."""

    def __init__(self, config: TeacherConfig):
        self.config = config

    @property
    def teacher_id(self) -> str:
        return self.config.teacher_id()

    @abstractmethod
    def score_pairs(self, pairs: Sequence[Pair]) -> list[float]:
        """Scores of pairs, in input order."""

    def score_lists(self, lists: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        """Scores of several (query, passages) lists in one batched call."""
        flat = [(q, p) for q, passages in lists for p in passages]
        scores = self.score_pairs(flat) if flat else []
        out, start = [], 0
        for _, passages in lists:
            out.append(list(scores[start:start + len(passages)]))
            start += len(passages)
        return out

    def score(self, query: str, passages: list[str]) -> list[float]:
        """Scores of one query against passages, in input order."""
        return self.score_lists([(query, passages)])[0]


# kind -> "module:factory"; modules are imported only when a teacher is built, so heavy
# optional dependencies (llama_cpp, openai) stay out of ``import corpusfit``.
REGISTRY: dict[str, str] = {
    "cross-encoder": "corpusfit.teach.cross_encoder:CrossEncoderTeacher",
    "t5": "corpusfit.teach.t5:T5Teacher",
    "llm-judge": "corpusfit.teach.llm_judge:build_llm_judge",
    "query-likelihood": "corpusfit.teach.query_likelihood:QueryLikelihoodTeacher",
    "bm25": "corpusfit.teach.lexical:BM25Teacher",
    "bm25-prf": "corpusfit.teach.prf:BM25PRFTeacher",
    "dense": "corpusfit.teach.lexical:DenseTeacher",
    "ensemble": "corpusfit.teach.ensemble:EnsembleTeacher",
}


def build_teacher(config: TeacherConfig, corpus: Mapping[str, str] | None = None) -> Teacher:
    """Instantiate the teacher a config describes.

    Args:
        config: the teacher config.
        corpus: doc id -> text of the whole corpus; BM25 needs it for its term
            statistics (other kinds ignore it).
    """
    module_name, attr = REGISTRY[config.kind].split(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(config, corpus=corpus)
