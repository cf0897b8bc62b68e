"""The LLM judge retries only transient server errors, waiting per the retry policy."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import corpusfit.retry as retry
from corpusfit.errors import CorpusfitError
from corpusfit.teach.config import teacher_config
from corpusfit.teach.llm_judge import OpenAIJudge


class StatusError(Exception):
    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status_code = status


class Client:
    """Fails with each error of ``errors`` in turn, then answers "yes"."""

    def __init__(self, errors):
        self.errors = list(errors)
        self.calls = 0
        self.completions = self

    def create(self, **kwargs):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        top = {" yes": -0.1, " no": -2.5}
        return SimpleNamespace(choices=[SimpleNamespace(
            logprobs=SimpleNamespace(top_logprobs=[top]))])


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(retry, "_sleep", waits.append)
    return waits


def _judge(client, retries=3) -> OpenAIJudge:
    config = teacher_config(kind="llm-judge", model="m", backend="openai",
                            base_url="http://127.0.0.1:9/v1", max_retries=retries)
    return OpenAIJudge(config, client=client)


def test_transient_errors_are_retried(sleeps):
    client = Client([ConnectionError("down"), StatusError(503)])
    judge = _judge(client)
    assert judge.score_pairs([("q", "p")]) == [pytest.approx(2.4)]
    assert client.calls == 3 and len(sleeps) == 2 and judge.stats["retries"] == 2


@pytest.mark.parametrize("error", [StatusError(401), StatusError(400), ValueError("bug")])
def test_other_errors_are_raised_at_once(sleeps, error):
    client = Client([error])
    with pytest.raises(CorpusfitError, match="judge server failed"):
        _judge(client).score_pairs([("q", "p")])
    assert client.calls == 1 and sleeps == []


def test_retries_run_out(sleeps):
    client = Client([StatusError(500)] * 5)
    with pytest.raises(CorpusfitError, match="StatusError: HTTP 500"):
        _judge(client, retries=2).score_pairs([("q", "p")])
    assert client.calls == 3 and len(sleeps) == 2


def test_the_request_timeout_is_configurable_and_not_fingerprinted():
    fast = teacher_config(kind="llm-judge", model="m", backend="openai",
                          base_url="http://127.0.0.1:9/v1", timeout=5)
    assert OpenAIJudge(fast).client.timeout == 5
    slow = fast.model_copy(update={"timeout": 600.0})
    assert OpenAIJudge(slow).client.timeout == 600.0
    assert fast.teacher_id() == slow.teacher_id()  # a slower server is the same teacher
