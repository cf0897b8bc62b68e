"""The openai backend against a real OpenAI-compatible HTTP server on localhost.

The server answers slowly, fails once with HTTP 500, stalls once past the client
timeout and returns a garbage body once and garbage text once: the stage must
retry the transient failures, reject the garbage, and count all of it.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from corpusfit.data.artifacts import RejectedQuery, SyntheticQuery, load_artifact
from corpusfit.data.ingest import IngestConfig
from corpusfit.generate import GenerateConfig, backend_config
from corpusfit.stages.generate import run_generate
from corpusfit.stages.ingest import run_ingest


class FlakyServer(ThreadingHTTPServer):
    """Scripted misbehaviour keyed by the passage id found in the last user turn."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.seen: dict[str, int] = {}
        self.bodies: list[dict] = []

    def visit(self, key: str) -> int:
        with self.lock:
            self.seen[key] = self.seen.get(key, 0) + 1
            return self.seen[key]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # models.list
        self._send(200, json.dumps({"object": "list", "data": [
            {"id": "flaky-model", "object": "model", "created": 0, "owned_by": "me"}]}).encode())

    def do_POST(self):
        server: FlakyServer = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.bodies.append(body)
        prompt = body["messages"][-1]["content"]
        doc = prompt.rsplit("Passage: ", 1)[1].split()[0]  # first word names the passage
        n = server.visit(doc)
        time.sleep(0.05)  # every answer is slow
        if doc == "FAIL500" and n == 1:
            return self._send(500, b'{"error": {"message": "boom"}}')
        if doc == "STALL" and n == 1:
            time.sleep(1.5)  # past the client timeout: must be retried
        if doc == "GARBAGE":
            return self._send(200, b"<html>not json", "text/html")
        text = "asdf qwer zxcv" if doc == "NONSENSE" else f"What is said about {doc.lower()} wings?"
        self._send(200, json.dumps({
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}]}).encode())


@pytest.fixture
def server():
    srv = FlakyServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_openai_backend_retries_rejects_and_counts(server, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    ids = ["OK1", "OK2", "FAIL500", "STALL", "GARBAGE", "NONSENSE"]
    corpus.write_text("".join(json.dumps({"_id": i, "text": f"{i} passage about wings"}) + "\n"
                              for i in ids))
    run_ingest(IngestConfig(), corpus, tmp_path / "ing")
    backend = backend_config(name="openai", base_url=f"http://127.0.0.1:{server.server_port}/v1",
                            timeout=0.8, max_retries=2, backoff=0.01, concurrency=3)
    config = GenerateConfig(types=["question"], attempts=1, backend=backend)
    summary = run_generate(config, tmp_path / "ing", tmp_path / "gen", progress=False)

    accepted = {q.source_id: q for q in load_artifact(tmp_path / "gen/queries.jsonl",
                                                      SyntheticQuery)}
    rejected = {r.source_id: r for r in load_artifact(tmp_path / "gen/rejected.jsonl",
                                                      RejectedQuery)}
    assert set(accepted) == {"OK1", "OK2", "FAIL500", "STALL"}
    assert accepted["FAIL500"].query == "What is said about fail500 wings?"
    assert accepted["OK1"].model == "flaky-model" and accepted["OK1"].backend == "openai"
    assert set(rejected) == {"GARBAGE", "NONSENSE"}
    assert rejected["GARBAGE"].reason == "backend_error"
    assert rejected["NONSENSE"].reason == "off_topic"
    assert rejected["NONSENSE"].raw == "asdf qwer zxcv"
    assert server.seen["FAIL500"] == 2 and server.seen["STALL"] == 2
    assert server.seen["OK1"] == 1
    assert summary.retried["server_retry"] == 2
    assert summary.rejected["question"] == {"backend_error": 1, "off_topic": 1}
    # Sampling settings and the few-shot chat reach the server.
    body = server.bodies[0]
    assert body["temperature"] == 0.8 and body["max_tokens"] == 50 and "seed" in body
    assert [m["role"] for m in body["messages"]] == ["system"] + ["user", "assistant"] * 3 + [
        "user"]


def test_openai_backend_resamples_garbage_when_attempts_allow(server, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    # OK1 is accepted: a stage that accepts nothing is an error of its own.
    corpus.write_text("".join(json.dumps({"_id": i, "text": f"{i} passage about wings"}) + "\n"
                              for i in ("GARBAGE", "OK1")))
    run_ingest(IngestConfig(), corpus, tmp_path / "ing")
    backend = backend_config(name="openai", base_url=f"http://127.0.0.1:{server.server_port}/v1",
                            model="given-model", max_retries=0)
    summary = run_generate(GenerateConfig(types=["question"], attempts=3, backend=backend),
                           tmp_path / "ing", tmp_path / "gen", progress=False)
    assert server.seen["GARBAGE"] == 3
    assert summary.retried == {"backend_error": 2, "server_retry": 0}
    assert summary.rejected["question"] == {"backend_error": 1}
    assert server.bodies[0]["model"] == "given-model"


def _prompt_text(body: dict) -> str:
    return "\n".join(f"<{m['role']}>{m['content']}" for m in body["messages"])


def _shared_len(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def test_shared_prefix_prompts_reach_the_server_with_type_budgets(server, tmp_path):
    """A server's prefix cache sees long shared prefixes: per passage and per few-shot block."""
    corpus = tmp_path / "corpus.jsonl"
    ids = ["OK1", "OK2", "OK3", "OK4"]
    corpus.write_text("".join(json.dumps({"_id": i, "text": f"{i} passage about wings"}) + "\n"
                              for i in ids))
    run_ingest(IngestConfig(), corpus, tmp_path / "ing")
    backend = backend_config(name="openai", base_url=f"http://127.0.0.1:{server.server_port}/v1",
                            max_retries=0, concurrency=1)
    types = ["question", "title", "keywords"]
    config = GenerateConfig(types=types, attempts=1, fewshot_every=2, backend=backend)
    run_generate(config, tmp_path / "ing", tmp_path / "gen", progress=False)

    bodies = {(b["messages"][-1]["content"].split()[1], i % 3): b
              for i, b in enumerate(server.bodies)}
    assert len(server.bodies) == 12
    sampled = [b["messages"][-1]["content"].split()[1] for b in server.bodies[::3]]
    # The three types of one passage differ only in the instruction after the passage.
    for doc in sampled:
        texts = [_prompt_text(bodies[(doc, t)]) for t in range(3)]
        head = texts[0].rsplit("\n\n", 1)[0]
        assert head.endswith(f"Passage: {doc} passage about wings")
        assert all(t.startswith(head) for t in texts)
    # Passages of one block share every few-shot turn; the next block draws anew.
    block = [b["messages"][:-1] for b in server.bodies[::3]]
    assert block[0] == block[1] and block[2] == block[3] and block[0] != block[2]
    assert len(block[0]) == 1 + 3 * 2 * 3  # system + 3 example passages x 3 types x 2 turns
    # Each type gets its own token budget; every request stops at a newline.
    budgets = {b["messages"][-1]["content"].rsplit("\n\n", 1)[1][:20]: b["max_tokens"]
               for b in server.bodies}
    assert sorted(budgets.values()) == [32, 40, 50]
    assert all(b["stop"] == ["\n"] for b in server.bodies)


def test_per_passage_layout_is_the_papers(server, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": i, "text": f"{i} passage about wings"}) + "\n"
                              for i in ["OK1", "OK2"]))
    run_ingest(IngestConfig(), corpus, tmp_path / "ing")
    backend = backend_config(name="openai", base_url=f"http://127.0.0.1:{server.server_port}/v1",
                            max_retries=0, concurrency=1)
    config = GenerateConfig(types=["question"], attempts=1, prompt="per-passage",
                            backend=backend)
    run_generate(config, tmp_path / "ing", tmp_path / "gen", progress=False)
    first, second = server.bodies
    # Instruction before the passage; examples drawn per passage (same type only).
    assert first["messages"][-1]["content"].startswith("Write one question")
    assert first["messages"][1:-1] != second["messages"][1:-1]
    assert _shared_len(_prompt_text(first), _prompt_text(second)) < len(
        _prompt_text(first)) // 2
