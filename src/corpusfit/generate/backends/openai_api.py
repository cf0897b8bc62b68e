"""OpenAI-compatible chat server backend (vLLM serve, llama.cpp server, Ollama, TGI, OpenAI).

Retries follow :mod:`corpusfit.retry` rather than the client's ``max_retries`` so that
every retry is counted and reported; the client's own ``timeout`` bounds each request.
A server that stays unreachable or refuses every request (key, model) yields
completions marked ``unavailable``: the runner keeps those pairs pending instead of
rejecting them.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

from corpusfit.errors import ConfigError
from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.config import BackendConfig, SamplingConfig
from corpusfit.retry import RetryPolicy, describe, is_refused, is_transient

logger = logging.getLogger(__name__)


class OpenAIBackend:
    """Parallel chat completions with timeouts and exponential backoff on transient errors."""

    name = "openai"

    @staticmethod
    def batch_size_for(config: BackendConfig) -> int:
        """Pairs per call: ``concurrency`` requests in flight."""
        return config.concurrency

    def __init__(self, config: BackendConfig):
        try:
            import openai
        except ImportError as e:
            raise ConfigError("backend 'openai' needs the openai client "
                              "(pip install 'corpusfit[openai]')") from e
        self._openai = openai
        base_url = config.base_url or os.environ.get("OPENAI_BASE_URL")
        # Local servers ignore the key but the client insists on one.
        api_key = config.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key,
                                     timeout=config.timeout, max_retries=0)
        self._config = config
        self._policy = RetryPolicy(config.max_retries, config.backoff)
        self.model_name = config.model or self._first_served_model()
        self._pool = ThreadPoolExecutor(max_workers=config.concurrency)
        self.batch_size = config.concurrency  # requests in flight per call

    def _first_served_model(self) -> str:
        try:
            models, _ = self._policy.call(lambda: self._client.models.list().data,
                                          "listing models")
        except self._openai.OpenAIError as e:
            raise ConfigError(f"backend 'openai': no model given and listing models failed: "
                              f"{describe(e)}") from e
        if not models:
            raise ConfigError("backend 'openai': the server lists no models; give one")
        return models[0].id

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        return list(self._pool.map(lambda r: self._one(r, sampling), requests))

    def _one(self, request: Request, sampling: SamplingConfig) -> Completion:
        cfg = self._config

        def create():
            return self._client.chat.completions.create(
                model=self.model_name, messages=request.messages, seed=request.seed,
                temperature=sampling.temperature, top_p=sampling.top_p,
                max_tokens=request.token_budget(sampling),
                stop=sampling.stop or None, **cfg.options)

        try:
            resp, retries = self._policy.call(create, f"{request.source_id}/{request.type}")
            return Completion(resp.choices[0].message.content or "", retries=retries)
        except Exception as e:  # noqa: BLE001 - every failure is reported, none dropped
            error = describe(e)
            # The server's state, not the query's: these pairs stay pending.
            outage = ("server unreachable" if is_transient(e) else
                      "server refused the requests" if is_refused(e) else "")
            logger.warning("request for %s/%s failed: %s", request.source_id, request.type,
                           error)
            return Completion(None, error=error, retries=cfg.max_retries if is_transient(e)
                              else 0, unavailable=outage)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()
