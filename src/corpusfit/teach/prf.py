"""BM25 with pseudo-relevance feedback (RM3-style query expansion) as a teacher.

For each query: BM25 over the whole corpus; its top ``fb_docs`` documents, weighted by
their BM25 scores, give a relevance model P(t | R) = sum_d w_d tf(t, d) / |d|; its top
``fb_terms`` terms (renormalized) are mixed with the query's own terms,
``original_weight * P(t | q) + (1 - original_weight) * P(t | R)``, and a passage scores
``sum_t weight_t * BM25(t, passage)``. Cheap (no model): a few BM25 term lookups per
query. Use it as ``{kind: bm25-prf}`` or as an ensemble member.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from corpusfit.teach.base import Pair, Teacher
from corpusfit.teach.config import TeacherConfig


def relevance_model(doc_tokens: list[list[str]], doc_scores: np.ndarray,
                    fb_terms: int) -> dict[str, float]:
    """P(t | R) over feedback documents (weights: their scores), cut to the top
    ``fb_terms`` terms and renormalized to sum 1; {} without usable feedback."""
    weights = np.clip(np.asarray(doc_scores, dtype=np.float64), 0.0, None)
    if not len(doc_tokens) or weights.sum() <= 0:
        return {}
    weights = weights / weights.sum()
    model: Counter = Counter()
    for tokens, w in zip(doc_tokens, weights):
        if tokens and w > 0:
            for term, tf in Counter(tokens).items():
                model[term] += w * tf / len(tokens)
    top = model.most_common(fb_terms)
    total = sum(v for _, v in top)
    return {t: v / total for t, v in top} if total > 0 else {}


def expanded_query(query_tokens: list[str], feedback: dict[str, float],
                   original_weight: float) -> dict[str, float]:
    """The RM3 mixture of the query's own term distribution and the feedback model."""
    own = Counter(query_tokens)
    n = sum(own.values())
    if not feedback:
        original_weight = 1.0
    out: dict[str, float] = {}
    for term, c in own.items():
        out[term] = original_weight * c / n
    for term, p in feedback.items():
        out[term] = out.get(term, 0.0) + (1.0 - original_weight) * p
    return out


class BM25PRFTeacher(Teacher):
    """BM25 with RM3-style pseudo-relevance feedback over the corpus (see module doc)."""

    def __init__(self, config: TeacherConfig, corpus: Mapping[str, str] | None = None):
        super().__init__(config)
        self._corpus = dict(corpus or {})
        self._index = None
        self._tokens: list[list[str]] = []
        self._row: dict[str, int] = {}
        if self._corpus:
            self._index, self._tokens, self._row = self._build(list(self._corpus.values()))

    def _build(self, texts: list[str]):
        """A BM25 index over ``texts`` (the config's language and stemming), their terms and
        each text's row."""
        from corpusfit.retrieve.bm25 import BM25Index

        index = BM25Index([str(i) for i in range(len(texts))], texts, **self.config.terms())
        tokens = index._tokenize(texts, return_ids=False)
        return index, [list(t) for t in tokens], {t: i for i, t in enumerate(texts)}

    def _term_scores(self, index, weights: dict[str, float]) -> np.ndarray:
        """``sum_t weight_t * BM25(t, d)`` for every document of ``index``."""
        total = np.zeros(len(index.doc_ids), dtype=np.float64)
        vocab = index.model.vocab_dict
        for term, w in weights.items():
            if term in vocab:
                total += w * np.asarray(index.model.get_scores([term]), dtype=np.float64)
        return total

    def _expanded(self, index, tokens: list[list[str]], query: str) -> dict[str, float]:
        cfg = self.config
        q_tokens = [t for t in index._tokenize([query], return_ids=False)[0]]
        if not q_tokens:
            return {}
        first = np.asarray(index.model.get_scores(q_tokens), dtype=np.float64)
        top = np.argsort(-first, kind="stable")[:cfg.fb_docs]
        top = top[first[top] > 0]
        feedback = relevance_model([tokens[i] for i in top], first[top], cfg.fb_terms)
        return expanded_query(q_tokens, feedback, cfg.original_weight)

    def score_lists(self, lists: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        out = []
        for query, passages in lists:
            rows = [self._row.get(p) for p in passages]
            if self._index is None or any(r is None for r in rows):
                index, tokens, row = self._build(passages)  # texts outside the corpus
                rows = [row[p] for p in passages]
            else:
                index, tokens = self._index, self._tokens
            scores = self._term_scores(index, self._expanded(index, tokens, query))
            out.append([float(scores[r]) for r in rows])
        return out

    def score_pairs(self, pairs: Sequence[Pair]) -> list[float]:
        return [s for q, p in pairs for s in self.score_lists([(q, [p])])[0]]
