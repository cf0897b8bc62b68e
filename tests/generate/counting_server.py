"""A local OpenAI-compatible server that counts the requests it answers (tests only).

Like the servers of test_openai_backend.py and test_outage.py it answers chat
completions on 127.0.0.1; its answers are well-formed queries of the type the last
user turn asks for (found by the instruction's wording), different per passage and
seed, so the generate stage accepts them. ``/v1/completions`` answers an LLM judge's
yes/no question with top logprobs. ``delay`` slows every answer (to kill a run mid-way).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (words in the instruction, type) in the order they are tried
_TYPES = [("statement", "claim"), ("keywords", "keywords"), ("web search", "natural"),
          ("title", "title"), ("question", "question")]


def answer(last_turn: str, seed: int, temperature: float = 1.0) -> tuple[str, str]:
    """(type, query) for the last user turn of a generate request (like a sampler's, it
    depends on the seed and temperature)."""
    passage = last_turn.split("Passage: ", 1)[1].split("\n\n")[0]
    instruction = last_turn.replace(passage, "")
    qtype = next((t for words, t in _TYPES if words in instruction.lower()), "natural")
    w = [x for x in re.findall(r"[a-z]+", passage.lower()) if len(x) > 2][:3]
    w += ["flow"] * (3 - len(w))
    tag = "z" + hashlib.sha1(f"{last_turn}|{seed}|{temperature}".encode()).hexdigest()[:6]
    text = {"question": f"what is the {w[0]} of {w[1]} {tag}?",
            "claim": f"the {w[0]} relates to {w[1]} and {w[2]} {tag}.",
            "keywords": f"{w[0]}, {w[1]}, {w[2]}, {tag}",
            "title": f"{w[0].title()} and {w[1].title()} {tag}",
            "natural": f"{w[0]} {w[1]} {tag}"}[qtype]
    return qtype, text


class CountingServer(ThreadingHTTPServer):
    """Counts chat requests per (passage's first word, type); ``posts`` in all."""

    daemon_threads = True

    def __init__(self, delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.delay = delay
        self.chats: Counter = Counter()
        self.prompts: Counter = Counter()  # every judge prompt, over all resets
        self.judged = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/v1"

    @property
    def posts(self) -> int:
        return sum(self.chats.values())

    def reset(self) -> None:
        with self.lock:
            self.chats.clear()
            self.judged = 0


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # models.list
        self._send({"object": "list", "data": [{"id": "counted", "object": "model",
                                                "created": 0, "owned_by": "test"}]})

    def do_POST(self):
        srv: CountingServer = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(srv.delay)
        if "messages" not in body:  # an LLM judge's completion with logprobs
            with srv.lock:
                srv.judged += 1
                srv.prompts[body["prompt"]] += 1
            top = {" yes": -0.2, " no": -1.5 - (len(body["prompt"]) % 7) / 7}
            return self._send({"id": "j", "object": "text_completion", "created": 0,
                               "model": body["model"], "choices": [{
                                   "index": 0, "text": " yes", "finish_reason": "length",
                                   "logprobs": {"tokens": [" yes"], "token_logprobs": [-0.2],
                                                "top_logprobs": [top], "text_offset": [0]}}]})
        last = body["messages"][-1]["content"]
        qtype, text = answer(last, body.get("seed", 0), body.get("temperature", 1.0))
        first = last.split("Passage: ", 1)[1].split()[0]
        with srv.lock:
            srv.chats[first, qtype] += 1
        self._send({"id": "x", "object": "chat.completion", "created": 0,
                    "model": body["model"], "choices": [{
                        "index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text}}]})


def start(delay: float = 0.0) -> CountingServer:
    """A running server (stop it with ``shutdown()`` and ``server_close()``)."""
    srv = CountingServer(delay)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv
