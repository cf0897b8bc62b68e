"""Query-likelihood teacher (UPR, Sachan et al. 2022): mean log p(query | passage).

Pairs are grouped by passage; each passage prompt is run once and its KV cache
serves every query scored against it (``kv_reuse``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from tqdm.auto import tqdm

from corpusfit.errors import ConfigError
from corpusfit.teach.base import Pair, Teacher
from corpusfit.teach.causal_lm import PrefixLM, load_prefix_lm
from corpusfit.teach.config import QL_PROMPT, TeacherConfig

logger = logging.getLogger(__name__)


def passage_prefix(lm: PrefixLM, template: str, passage: str, max_tokens: int) -> list[int]:
    """BOS + template text before ``{passage}`` + the passage cut to ``max_tokens`` + the rest.

    Each part is tokenized on its own so the cut is exact and both scoring
    paths (with and without KV reuse) see identical token ids.
    """
    if "{passage}" not in template:
        raise ConfigError(f"prompt template must contain {{passage}}: {template!r}")
    pre, post = template.split("{passage}", 1)
    ids = lm.encode(pre, bos=True) + lm.encode(passage)[:max_tokens]
    return ids + (lm.encode(post) if post else [])


def group_by_passage(pairs: Sequence[Pair]) -> dict[str, list[int]]:
    """passage text -> positions of its pairs (insertion order)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (_, passage) in enumerate(pairs):
        groups[passage].append(i)
    return groups


def mean_logprob(logits: np.ndarray, targets: list[int]) -> float:
    """Mean log-softmax probability of ``targets``; ``logits`` rows predict each target."""
    rows = logits[:len(targets)].astype(np.float64)
    rows = rows - rows.max(axis=1, keepdims=True)
    logz = np.log(np.exp(rows).sum(axis=1))
    return float(np.mean(rows[np.arange(len(targets)), targets] - logz))


class QueryLikelihoodTeacher(Teacher):
    """Score = mean log-probability of the query's tokens after the passage prompt."""

    def __init__(self, config: TeacherConfig, corpus: Mapping[str, str] | None = None,
                 lm: PrefixLM | None = None):
        super().__init__(config)
        self.template = config.prompt or QL_PROMPT
        if "{query}" in self.template:
            raise ConfigError("query-likelihood prompt: the query follows the template; "
                              "leave {query} out")
        self.lm = lm or load_prefix_lm(config)

    def query_ids(self, query: str) -> list[int]:
        ids = self.lm.encode(" " + query.strip())[:self.config.max_query_tokens]
        if not ids:
            raise ConfigError(f"query {query!r} has no tokens")
        return ids

    def score_pairs(self, pairs: Sequence[Pair]) -> list[float]:
        scores = [0.0] * len(pairs)
        groups = group_by_passage(pairs)
        bar = tqdm(total=len(pairs), desc="query likelihood", unit="pair", leave=False,
                   disable=len(pairs) < 200)
        for passage, positions in groups.items():
            prefix = passage_prefix(self.lm, self.template, passage,
                                    self.config.max_passage_tokens)
            conts = [self.query_ids(pairs[i][0]) for i in positions]
            logits = self.lm.continuation_logits(prefix, conts, reuse=self.config.kv_reuse)
            for i, cont, rows in zip(positions, conts, logits):
                scores[i] = mean_logprob(rows, cont)
            bar.update(len(positions))
        bar.close()
        return scores
