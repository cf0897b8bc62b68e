"""OpenAI-compatible chat server backend (vLLM serve, llama.cpp server, Ollama, TGI, OpenAI).

The retry loop is ours rather than the client's ``max_retries`` so that every
retry is counted and reported; the client's own ``timeout`` bounds each request.
"""

from __future__ import annotations

import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

from corpusfit.errors import ConfigError
from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.config import BackendConfig, SamplingConfig

logger = logging.getLogger(__name__)


class OpenAIBackend:
    """Parallel chat completions with timeouts and exponential backoff on transient errors."""

    name = "openai"

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
        self.model_name = config.model or self._first_served_model()
        self._pool = ThreadPoolExecutor(max_workers=config.concurrency)

    def _first_served_model(self) -> str:
        try:
            models = self._client.models.list().data
        except self._openai.OpenAIError as e:
            raise ConfigError(f"backend 'openai': no model given and listing models failed: "
                              f"{e}") from e
        if not models:
            raise ConfigError("backend 'openai': the server lists no models; give one")
        return models[0].id

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        return list(self._pool.map(lambda r: self._one(r, sampling), requests))

    def _transient(self, error: Exception) -> bool:
        o = self._openai
        return isinstance(error, (o.APITimeoutError, o.APIConnectionError, o.RateLimitError,
                                  o.InternalServerError))

    def _one(self, request: Request, sampling: SamplingConfig) -> Completion:
        cfg = self._config
        for attempt in range(cfg.max_retries + 1):
            try:
                resp = self._client.chat.completions.create(
                    model=self.model_name, messages=request.messages, seed=request.seed,
                    temperature=sampling.temperature, top_p=sampling.top_p,
                    max_tokens=request.token_budget(sampling),
                    stop=sampling.stop or None, **cfg.options)
                return Completion(resp.choices[0].message.content or "", retries=attempt)
            except Exception as e:  # noqa: BLE001 - every failure is reported, none dropped
                error = f"{type(e).__name__}: {str(e)[:200]}"
                if not self._transient(e) or attempt == cfg.max_retries:
                    logger.warning("request for %s/%s failed: %s", request.source_id,
                                   request.type, error)
                    return Completion(None, error=error, retries=attempt)
                delay = cfg.backoff * 2 ** attempt * (0.5 + random.random())
                logger.info("retrying %s/%s in %.2fs after %s", request.source_id, request.type,
                            delay, error)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()
