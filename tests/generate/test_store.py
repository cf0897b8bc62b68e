"""The completion store: keys by content, crash-safe files, a lazy backend behind it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from corpusfit.generate import GenerateConfig
from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.config import SamplingConfig, backend_config
from corpusfit.generate.identity import model_identity
from corpusfit.generate.store import (
    CompletionStore,
    StoredBackend,
    default_root,
    open_backend,
    request_key,
)

ID = {"name": "fake", "model": "m"}


def _req(text: str = "hi", seed: int = 1, budget: int | None = None) -> Request:
    return Request("d1", "question", [{"role": "user", "content": text}], seed, text,
                   max_new_tokens=budget)


class Counting:
    name, model_name = "counting", "counted-model"

    def __init__(self, fail: set[str] = frozenset()):
        self.asked: list[str] = []
        self.fail = fail

    def generate(self, requests, sampling):
        self.asked += [r.passage for r in requests]
        return [Completion(None, error="boom") if r.passage in self.fail
                else Completion(f"answer to {r.passage}") for r in requests]

    def close(self):
        pass


def test_keys_change_with_exactly_what_decides_the_output():
    s = SamplingConfig()
    base = request_key(ID, _req(), s)
    assert base == request_key(dict(ID), _req(), SamplingConfig())
    assert base != request_key(ID, _req("other"), s)
    assert base != request_key(ID, _req(seed=2), s)  # the seed carries the attempt number
    assert base != request_key({**ID, "model": "n"}, _req(), s)
    assert base != request_key(ID, _req(), SamplingConfig(temperature=0.3))
    # the token budget that applies, not how it was configured
    assert request_key(ID, _req(budget=50), s) == base  # 50 = the sampling cap
    assert request_key(ID, _req(budget=20), s) != base


def test_stored_answers_cost_nothing_and_failures_are_asked_again(tmp_path):
    inner = Counting(fail={"b"})
    made = []

    def factory():
        made.append(1)
        return inner

    backend = StoredBackend("counting", ID, CompletionStore(tmp_path), factory)
    out = backend.generate([_req("a"), _req("b")], SamplingConfig())
    assert [c.text for c in out] == ["answer to a", None] and inner.asked == ["a", "b"]
    backend.close()
    again = StoredBackend("counting", ID, CompletionStore(tmp_path), factory)
    out = again.generate([_req("a"), _req("b"), _req("c")], SamplingConfig())
    assert inner.asked == ["a", "b", "b", "c"]  # only the failure and the new one
    assert (again.hits, again.misses) == (1, 2)
    hit_only = StoredBackend("counting", ID, CompletionStore(tmp_path), factory)
    made.clear()
    assert hit_only.generate([_req("a")], SamplingConfig())[0].text == "answer to a"
    assert made == [] and hit_only.model_name == "counted-model"  # no model was loaded


def test_a_torn_last_line_is_skipped_and_writers_never_share_a_file(tmp_path):
    one, two = CompletionStore(tmp_path), CompletionStore(tmp_path)
    one.put("k1", "x", "m")
    two.put("k2", "y", "m")
    one.flush()
    two.flush()
    files = sorted(tmp_path.glob("*.jsonl"))
    assert len(files) == 2
    with files[0].open("a") as f:
        f.write('{"k": "k3", "te')  # a crash mid-line
    store = CompletionStore(tmp_path)
    assert len(store) == 2 and store.get("k1")["text"] == "x" and store.get("k3") is None


def test_default_root_is_configurable(monkeypatch, tmp_path):
    monkeypatch.setenv("CORPUSFIT_COMPLETIONS", str(tmp_path / "here"))
    assert default_root() == tmp_path / "here"
    monkeypatch.delenv("CORPUSFIT_COMPLETIONS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_root() == tmp_path / "xdg" / "corpusfit" / "completions"


def test_a_local_model_is_identified_by_its_content(tmp_path):
    gguf = tmp_path / "a.gguf"
    gguf.write_bytes(b"GGUF weights")
    moved = tmp_path / "elsewhere" / "b.gguf"
    moved.parent.mkdir()
    shutil.copy(gguf, moved)
    store = tmp_path / "store"
    one = model_identity(backend_config(model=str(gguf), n_threads=1), store)
    assert one == model_identity(backend_config(model=str(moved), n_threads=4), store)
    assert one["model"].startswith("sha256:")
    moved.write_bytes(b"other weights")
    assert one != model_identity(backend_config(model=str(moved)), store)
    assert one != model_identity(backend_config(model=str(gguf), n_ctx=512), store)
    assert json.loads((store / "file-hashes.json").read_text())  # hashed once, remembered


def test_a_server_is_identified_by_url_and_model(monkeypatch, tmp_path):
    cfg = backend_config(name="openai", base_url="http://a/v1", model="m", api_key="secret",
                         concurrency=8)
    ident = model_identity(cfg, tmp_path)
    assert ident["model"] == "m" and ident["base_url"] == "http://a/v1"
    assert "secret" not in json.dumps(ident)
    assert ident == model_identity(cfg.model_copy(update={"concurrency": 1}), tmp_path)
    assert ident != model_identity(cfg.model_copy(update={"base_url": "http://b/v1"}), tmp_path)
    assert model_identity(cfg.model_copy(update={"model": None}), tmp_path) is None


def test_store_off_uses_the_bare_backend(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    cfg = GenerateConfig(store="off", backend=backend_config(name="fake_backend:TemplatedBackend"))
    assert type(open_backend(cfg)).__name__ == "TemplatedBackend"
    stored = open_backend(cfg.model_copy(update={"store": None}))
    assert isinstance(stored, StoredBackend) and stored.name == "fake_backend:TemplatedBackend"
