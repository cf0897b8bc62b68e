"""The one retry policy of every network client (generate's server, the LLM judge).

Only transient failures are retried: connection errors, timeouts, HTTP 408/409/425/429
and 5xx. A client error (a bad request, a refused key) is raised at once: repeating it
cannot help. The delay doubles from ``backoff`` with jitter, unless the server says how
long to wait (``Retry-After``), which is honoured.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

logger = logging.getLogger(__name__)

T = TypeVar("T")

REQUEST_TIMEOUT = 60.0  # seconds per request where a config gives none
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
REFUSED_STATUS = frozenset({401, 403, 404})  # wrong key, no access, no such model or route
MAX_DELAY = 300.0


def _sleep(seconds: float) -> None:  # one place, so tests can record the waits
    time.sleep(seconds)


def status_of(error: BaseException) -> int | None:
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(error: BaseException) -> bool:
    """A failure of the server or the network that a later try may not meet."""
    status = status_of(error)
    if status is not None:
        return status in TRANSIENT_STATUS or status >= 500
    try:
        import openai
        if isinstance(error, openai.APIConnectionError):  # timeouts included
            return True
    except ImportError:
        pass
    return isinstance(error, ConnectionError | TimeoutError)


def is_refused(error: BaseException) -> bool:
    """The server refuses every request alike (key, permission, model name)."""
    return status_of(error) in REFUSED_STATUS


def retry_after(error: BaseException) -> float | None:
    """Seconds the server asked to wait (``Retry-After``: seconds or an HTTP date)."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
        return max(0.0, when - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` more tries after the first, waiting ``backoff * 2**n`` (jittered)."""

    retries: int = 3
    backoff: float = 1.0

    def delay(self, attempt: int, error: BaseException) -> float:
        asked = retry_after(error)
        if asked is not None:
            return min(asked, MAX_DELAY)
        return min(self.backoff * 2 ** attempt * (0.5 + random.random()), MAX_DELAY)

    def call(self, fn: Callable[[], T], what: str = "request") -> tuple[T, int]:
        """``fn()`` and how many retries it took; the last error is raised when the
        failure is not transient or the retries are used up (tenacity does the loop)."""
        def wait(state: RetryCallState) -> float:
            return self.delay(state.attempt_number - 1, state.outcome.exception())

        def log(state: RetryCallState) -> None:
            logger.info("retrying %s in %.2fs after %s", what, state.upcoming_sleep,
                        describe(state.outcome.exception()))

        retrying = Retrying(retry=retry_if_exception(is_transient),
                            stop=stop_after_attempt(self.retries + 1), wait=wait,
                            before_sleep=log, sleep=lambda s: _sleep(s), reraise=True)
        for attempt in retrying:
            with attempt:
                result = fn()
        return result, attempt.retry_state.attempt_number - 1


def describe(error: BaseException) -> str:
    """``Type: message`` in one short line, credentials masked."""
    from corpusfit.masking import mask_text

    return mask_text(f"{type(error).__name__}: {str(error)[:200]}")
