"""LLM relevance judge: logit(yes) - logit(no) for "Is the passage relevant?".

Local models (transformers, llama-cpp GGUF) reuse the passage prefix's KV
cache like query likelihood; an OpenAI-compatible server is asked for one
token with logprobs. Transient server failures are retried (:mod:`corpusfit.retry`,
each request bounded by a timeout), then raised; other failures (a refused key, a
bad request) are raised at once. Answers whose top logprobs lack "yes" or "no" get a
floor value and are counted.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence

from corpusfit.errors import ConfigError, CorpusfitError
from corpusfit.retry import RetryPolicy, describe
from corpusfit.teach.base import Pair, Teacher
from corpusfit.teach.causal_lm import PrefixLM, load_prefix_lm
from corpusfit.teach.config import JUDGE_PROMPT, TeacherConfig
from corpusfit.teach.query_likelihood import group_by_passage, passage_prefix

logger = logging.getLogger(__name__)


def split_judge_prompt(template: str) -> tuple[str, str]:
    """(part with {passage}, rest with {query}); the passage must come first for KV reuse."""
    if "{passage}" not in template or "{query}" not in template:
        raise ConfigError("llm-judge prompt needs {passage} and {query}")
    head, tail = template.split("{query}", 1)
    if "{passage}" not in head:
        raise ConfigError("llm-judge prompt: {passage} must come before {query}")
    # A space before {query} belongs to the query's first token (" word"), not the prefix.
    lead = " " if head.endswith(" ") else ""
    return head.rstrip(" "), lead + "{query}" + tail


def build_llm_judge(config: TeacherConfig, corpus: Mapping[str, str] | None = None) -> Teacher:
    """The judge for the configured backend."""
    if config.backend == "openai":
        return OpenAIJudge(config)
    return LocalJudge(config)


class LocalJudge(Teacher):
    """Yes/no logit difference from a local causal LM."""

    def __init__(self, config: TeacherConfig, corpus: Mapping[str, str] | None = None,
                 lm: PrefixLM | None = None):
        super().__init__(config)
        self.head, self.tail = split_judge_prompt(config.prompt or JUDGE_PROMPT)
        self.lm = lm or load_prefix_lm(config)
        self.yes = self.lm.token_id(config.yes_token)
        self.no = self.lm.token_id(config.no_token)

    def _cont(self, query: str) -> list[int]:
        before, after = self.tail.split("{query}", 1)
        q_ids = self.lm.encode(before + query.strip())[:self.config.max_query_tokens]
        return q_ids + self.lm.encode(after)

    def score_pairs(self, pairs: Sequence[Pair]) -> list[float]:
        scores = [0.0] * len(pairs)
        for passage, positions in group_by_passage(pairs).items():
            prefix = passage_prefix(self.lm, self.head, passage, self.config.max_passage_tokens)
            conts = [self._cont(pairs[i][0]) for i in positions]
            logits = self.lm.continuation_logits(prefix, conts, reuse=self.config.kv_reuse)
            for i, rows in zip(positions, logits):
                scores[i] = float(rows[-1, self.yes] - rows[-1, self.no])
        return scores


class OpenAIJudge(Teacher):
    """Yes/no log-probability difference from an OpenAI-compatible completions server."""

    def __init__(self, config: TeacherConfig, corpus: Mapping[str, str] | None = None,
                 client=None):
        super().__init__(config)
        if client is None:
            try:
                from openai import OpenAI
            except ImportError as e:
                raise CorpusfitError("backend openai needs the openai package") from e
            # Retries are ours (transient errors only); the client's would multiply them.
            client = OpenAI(base_url=config.base_url,
                            api_key=os.environ.get(config.api_key_env, "none"),
                            timeout=config.timeout, max_retries=0)
        self.client = client
        self.template = config.prompt or JUDGE_PROMPT
        self.stats = {"requests": 0, "retries": 0, "missing_yes_no": 0}

    def _top_logprobs(self, prompt: str) -> dict[str, float]:
        def ask():
            self.stats["requests"] += 1
            return self.client.completions.create(
                model=self.config.model, prompt=prompt, max_tokens=1, temperature=0.0,
                logprobs=20)

        try:
            resp, retries = RetryPolicy(self.config.max_retries).call(ask, "judge request")
        except Exception as e:
            raise CorpusfitError(f"judge server failed: {describe(e)}") from e
        self.stats["retries"] += retries
        return dict(resp.choices[0].logprobs.top_logprobs[0])

    def _score(self, top: dict[str, float]) -> float:
        floor = min(top.values(), default=-30.0) - 1.0
        found = {"yes": -math.inf, "no": -math.inf}
        for token, lp in top.items():
            word = token.strip().lower()
            if word in found:
                found[word] = max(found[word], lp)
        if math.isinf(found["yes"]) or math.isinf(found["no"]):
            self.stats["missing_yes_no"] += 1
        return max(found["yes"], floor) - max(found["no"], floor)

    def score_pairs(self, pairs: Sequence[Pair]) -> list[float]:
        out = []
        for query, passage in pairs:
            prompt = self.template.format(query=query.strip(), passage=passage)
            out.append(self._score(self._top_logprobs(prompt)))
        return out
