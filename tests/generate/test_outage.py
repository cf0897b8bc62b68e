"""An OpenAI-compatible server that dies mid-run loses no pair, and one that says
"wait" (429 + Retry-After) is waited for as long as it asks."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import corpusfit.retry as retry
from corpusfit.cli import main


class Server(ThreadingHTTPServer):
    """Answers ``budget`` completions, then drops every connection until ``up`` again.

    ``script`` maps the n-th POST (1-based) to (status, headers) instead of an answer.
    """

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.budget: int | None = None
        self.answered: list[str] = []  # passage ids of answered completions
        self.posts = 0
        self.script: dict[int, tuple[int, dict]] = {}
        self.always: tuple[int, dict] | None = None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, code: int, body: dict, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(code)
        for k, v in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        srv: Server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        doc = body["messages"][-1]["content"].rsplit("Passage: ", 1)[1].split()[0]
        with srv.lock:
            srv.posts += 1
            n = srv.posts
            down = srv.budget is not None and len(srv.answered) >= srv.budget
            if not down and n not in srv.script and srv.always is None:
                srv.answered.append(doc)
        if down:  # the server is gone: no answer at all
            self.close_connection = True
            self.connection.close()
            return
        if srv.always or n in srv.script:
            code, headers = srv.always or srv.script[n]
            return self._send(code, {"error": {"message": f"status {code}"}}, headers)
        self._send(200, {"id": "x", "object": "chat.completion", "created": 0,
                         "model": body["model"], "choices": [{
                             "index": 0, "finish_reason": "stop", "message": {
                                 "role": "assistant",
                                 "content": f"What is said about {doc.lower()} wings?"}}]})


@pytest.fixture
def server():
    srv = Server()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Every wait of the retry policy, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(retry, "_sleep", waits.append)
    return waits


def _setup(tmp_path, server, n: int) -> tuple[list[str], list[str]]:
    corpus = tmp_path / "corpus.jsonl"
    ids = [f"P{i:02d}" for i in range(n)]
    corpus.write_text("".join(json.dumps({"_id": i, "text": f"{i} passage about wings"}) + "\n"
                              for i in ids))
    config = tmp_path / "gen.yaml"
    config.write_text(json.dumps({"types": ["question"], "attempts": 2, "batch_size": 2,
                                  "backend": {"name": "openai", "model": "m", "concurrency": 1,
                                              "max_retries": 2, "backoff": 0.5,
                                              "base_url": f"http://127.0.0.1:"
                                                          f"{server.server_port}/v1"}}))
    args = ["generate", "--data", str(corpus), "--out", str(tmp_path / "gen"), "--config",
            str(config), "--no-progress"]
    return ids, args


def _records(path) -> list[dict]:
    return [json.loads(x) for x in path.open()] if path.exists() else []


def test_outage_keeps_pairs_pending_and_a_rerun_sends_exactly_those(tmp_path, server, sleeps,
                                                                     capsys):
    ids, args = _setup(tmp_path, server, 12)
    gen = tmp_path / "gen"
    server.budget = 5  # then the server dies
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "server unreachable: 7 of 12 pairs pending; rerun to continue" in err
    assert "Traceback" not in err
    assert not (gen / "manifest.json").exists()
    first = list(server.answered)
    assert len(first) == 5 and [r["source_id"] for r in _records(gen / "queries.jsonl")] == first
    assert _records(gen / "rejected.jsonl") == []  # the outage rejected nothing
    assert len(sleeps) == 2  # the retries of the request that met the dead server

    server.budget = None  # the server is back
    assert main(args) == 0
    again = server.answered[5:]  # the rerun asked for exactly the 7 pending pairs
    assert len(again) == 7 and sorted(first + again) == ids
    assert sorted(r["source_id"] for r in _records(gen / "queries.jsonl")) == ids
    assert _records(gen / "rejected.jsonl") == []
    assert (gen / "manifest.json").exists()


def test_server_down_from_the_start_stops_before_any_later_stage(tmp_path, server, sleeps,
                                                                 capsys):
    _, args = _setup(tmp_path, server, 3)
    server.budget = 0
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "server unreachable: 3 of 3 pairs pending" in err
    assert not (tmp_path / "gen" / "manifest.json").exists()


def test_retry_after_is_honoured(tmp_path, server, sleeps):
    _, args = _setup(tmp_path, server, 1)
    server.script = {1: (429, {"Retry-After": "3"}), 2: (503, {"Retry-After-Ms": "1500"})}
    assert main(args) == 0
    assert sleeps == [3.0, 1.5]  # what the server asked for, not the 0.5 s backoff
    assert [r["source_id"] for r in _records(tmp_path / "gen/queries.jsonl")] == ["P00"]


def test_refused_key_is_not_retried_and_rejects_nothing(tmp_path, server, sleeps, capsys):
    _, args = _setup(tmp_path, server, 4)
    server.always = (401, {})
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "server refused the requests: 4 of 4 pairs pending" in err and "401" in err
    assert sleeps == [] and server.posts == 2  # one request per pair of the first batch
    assert _records(tmp_path / "gen/rejected.jsonl") == []


def test_no_accepted_query_is_a_clear_error_without_manifest(tmp_path, server, sleeps,
                                                             capsys):
    _, args = _setup(tmp_path, server, 2)
    server.always = (400, {})  # every request is refused as bad: rejections, not an outage
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no query accepted for 2 (passage, type) pairs (rejections: backend_error 2)" in err
    assert not (tmp_path / "gen" / "manifest.json").exists()
    # A backend error is never a verdict on the query: the rerun asks again.
    server.always = None
    assert main(args) == 0
    assert len(_records(tmp_path / "gen/queries.jsonl")) == 2
    assert _records(tmp_path / "gen/rejected.jsonl") == []
