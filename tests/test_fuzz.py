"""The probe of #15 as a test: seeded mutations of small valid inputs, through every reader.

Each case writes one mutated input (byte flips, cuts, bad UTF-8, lone surrogates, wrong
JSON types, missing keys, duplicates, huge numbers, NaN, deep nesting, empty files, a
FIFO or a folder in the file's place ...) and runs the real reader on it, in process,
under a SIGALRM guard. The only allowed outcomes: a clean acceptance, or a
CorpusfitError whose message names the file (its folder for a folder corpus) and, for a
DataError, points into it. Any other exception, or a case that does not end, fails.
"""

from __future__ import annotations

import json
import os
import random
import signal
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest

from corpusfit.config import load_config
from corpusfit.data.artifacts import Candidates, load_artifact
from corpusfit.data.ids import read_id_file
from corpusfit.data.readers import load_corpus, load_qrels, load_queries
from corpusfit.errors import CorpusfitError, DataError
from corpusfit.generate.runner import _read_done
from corpusfit.retrieve.trec import read_trec_run
from corpusfit.teach.cache import ScoreCache
from corpusfit.train.data import load_training_data

SEED = 15
CASES_PER_READER = 26
GUARD_SECONDS = 20  # a hang guard, not a speed check: a case takes milliseconds

DOCS = ["d1", "d2", "d3"]


def _jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def _list(qid: str, split: str) -> dict:
    return {"qid": qid, "query": "wing lift", "type": "question", "source_id": "d1",
            "doc_ids": ["d1", "d2"], "scores": [1.0, 0.0], "raw_scores": [3.0, 1.5],
            "split": split}


def _query(source: str) -> dict:
    return {"qid": f"{source}@question", "text": "what is lift?", "type": "question",
            "source_id": source, "model": "m", "backend": "b", "attempts": 1}


class Reader:
    """One reader: a valid input, where it goes, and how the reader is called."""

    def __init__(self, name: str, file: str, valid: bytes, call: Callable[[Path], object]):
        self.name, self.file, self.valid, self.call = name, file, valid, call


def _readers(shared: Path) -> list[Reader]:
    corpus = shared / "corpus.jsonl"
    wanted = {(d, "question") for d in DOCS}
    return [
        Reader("corpus jsonl", "corpus.jsonl", _jsonl(
            {"_id": "d1", "title": "Wing", "text": "lift of a wing"},
            {"_id": "d2", "text": "drag of an airfoil"}, {"_id": "d3", "text": "heat"}),
            load_corpus),
        Reader("corpus tsv", "corpus.tsv",
               b"id\ttext\n1\tfirst passage\n2\tTitle\tsecond passage\n3\tthird\n", load_corpus),
        Reader("corpus folder", "docs/a.txt", b"A document about wings.\nSecond line.\n",
               lambda p: load_corpus(p.parent)),
        Reader("queries", "queries.jsonl", _jsonl(
            {"_id": "q1", "text": "wing lift"}, {"_id": "q2", "text": "drag", "extra": [1]}),
            load_queries),
        Reader("qrels", "test.tsv", b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\n",
               load_qrels),
        Reader("trec run", "run.trec",
               b"q1 Q0 d1 1 2.5 t\nq1 Q0 d2 2 1.0 t\nq2 Q0 d2 1 3.0 t\n", read_trec_run),
        Reader("config yaml", "config.yaml", (
            f"corpus: {corpus}\ningest:\n  sample: 2\n  seed: 3\ngenerate:\n  backend:\n"
            "    name: openai\n    model: m\n    options: {timeout_hint: 1}\nmine:\n"
            "  retrievers: [bm25]\n  depth: 10\ntrain:\n  lr: 1.0e-4\n  epochs: 1\n"
            "variants:\n  other: {lr: 2.0e-5}\n").encode(), load_config),
        Reader("id file", "sampled.txt", b"d1\nd2\nd3\n", lambda p: read_id_file(p, DOCS)),
        Reader("held-out id file", "held.txt", b"# held out\nd1\n\n d3\n",
               lambda p: read_id_file(p, DOCS, comments=True)),
        Reader("duplicates.jsonl", "duplicates.jsonl",
               _jsonl({"_id": "d2", "duplicate_of": "d1"}), read_id_file),
        Reader("generate queries.jsonl (resume)", "gen/queries.jsonl",
               _jsonl(_query("d1"), _query("d2")),
               lambda p: _read_done(p.parent, wanted)),
        Reader("generate rejected.jsonl (resume)", "gen/rejected.jsonl", _jsonl(
            {"source_id": "d3", "type": "question", "reason": "too_short", "raw": "x",
             "model": "m", "backend": "b", "attempts": 2}),
            lambda p: _read_done(p.parent, wanted)),
        Reader("lists.jsonl", "lists.jsonl", _jsonl(_list("q1", "train"), _list("q2", "dev")),
               lambda p: load_training_data(p, corpus)),
        Reader("candidates.jsonl", "candidates.jsonl", _jsonl(
            {"qid": "q1", "query": "x", "type": "question", "source_id": "d1",
             "doc_ids": ["d1", "d2"], "rrf_scores": [0.03, 0.01], "ranks": {"bm25": [1, 2]}}),
            lambda p: load_artifact(p, Candidates)),
        Reader("label score cache shard", "scores/teacher/main.jsonl", _jsonl(
            {"q": "a" * 40, "d": "d1", "s": 2.5}, {"q": "b" * 40, "d": "d2", "s": -1}),
            lambda p: ScoreCache(p.parent.parent, "teacher")),
    ]


# --- mutations: (name, bytes -> bytes) or a special kind that replaces the file ----------

def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _at(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data) + 1)


def _insert(rng, data: bytes, piece: bytes) -> bytes:
    i = _at(rng, data)
    return data[:i] + piece + data[i:]


JSON_VALUES = [None, 0, -1, 1.5, True, "", "x", [], {}, ["d1", "d1"], {"a": None}]
TEXT_VALUES = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"9" * 5000, b"null", b"[]",
               b"{}", b"true", b'"\\ud800"', b"-0", b"0.7", b"1e30"]


def _json_retype(rng, data: bytes) -> bytes:
    lines = _lines(data)
    k = rng.randrange(len(lines))
    try:
        rec = json.loads(lines[k])
    except ValueError:
        return _insert(rng, data, rng.choice(TEXT_VALUES))
    if isinstance(rec, dict) and rec:
        key = rng.choice(sorted(rec))
        if rng.random() < 0.3:
            del rec[key]  # a missing key
        else:
            rec[key] = rng.choice(JSON_VALUES)
        lines[k] = (json.dumps(rec) + "\n").encode()
    return b"".join(lines)


def _raw_value(rng, data: bytes) -> bytes:
    """Replace a token (a JSON value, a field, a score) with NaN, a huge number, ..."""
    lines = _lines(data)
    k = rng.randrange(len(lines))
    parts = lines[k].split(b" ") if b"\t" not in lines[k] else lines[k].split(b"\t")
    sep = b" " if b"\t" not in lines[k] else b"\t"
    j = rng.randrange(len(parts))
    parts[j] = rng.choice(TEXT_VALUES) + (b"\n" if parts[j].endswith(b"\n") else b"")
    lines[k] = sep.join(parts)
    return b"".join(lines)


def _dup_line(rng, data):
    lines = _lines(data)
    k = rng.randrange(len(lines))
    return b"".join(lines[:k + 1] + [lines[k]] + lines[k + 1:])


def _drop_line(rng, data):
    lines = _lines(data)
    del lines[rng.randrange(len(lines))]
    return b"".join(lines)


def _flip(rng, data):
    if not data:
        return b"\x00"
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    return bytes(out)


MUTATIONS: list[tuple[str, Callable[[random.Random, bytes], bytes]]] = [
    ("byte flips", _flip),
    ("truncation", lambda rng, d: d[:_at(rng, d)]),
    ("torn last line", lambda rng, d: d.rstrip(b"\n")[:-3]),
    ("invalid UTF-8", lambda rng, d: _insert(rng, d, rng.choice(
        [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82", b"\x80abc"]))),
    ("lone surrogate", lambda rng, d: d.replace(b'"', b'"\\udc80', 1) if b'"' in d
     else _insert(rng, d, b"\\ud800")),
    ("wrong JSON type / missing key", _json_retype),
    ("NaN, huge number, other token", _raw_value),
    ("duplicate line", _dup_line),
    ("dropped line", _drop_line),
    ("empty file", lambda rng, d: b""),
    ("blank lines only", lambda rng, d: b"\n \n\t\n"),
    ("deep nesting", lambda rng, d: rng.choice([b"[" * 60_000 + b"]" * 60_000 + b"\n",
                                                b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n",
                                                b'{"a":' * 3000 + b"1" + b"}" * 3000])),
    ("byte-order mark", lambda rng, d: b"\xef\xbb\xbf" + d),
    ("CRLF line ends", lambda rng, d: d.replace(b"\n", b"\r\n")),
    ("control characters", lambda rng, d: _insert(rng, d, rng.choice(
        [b"\x00", b"\x0b", "\u2028".encode(), b"\x1e", b"\\n", b"\t", b"\r"]))),
    ("huge line", lambda rng, d: _insert(rng, d, b"x" * 200_000)),
    ("YAML alias bomb / duplicate key / tag", lambda rng, d: rng.choice([
        b'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + b"".join(
            b"%c: &%c [%s]\n" % (98 + i, 98 + i, b",".join([b"*%c" % (97 + i)] * 9))
            for i in range(9)),
        d + d.split(b"\n", 1)[0] + b"\n", b"!!python/object:os.system {}\n" + d,
        b"a: &x [1, *x]\n"])),
    ("two mutations", None),
]
SPECIAL = ["a FIFO in its place", "a directory in its place", "a dangling link in its place"]


def _mutate(rng: random.Random, data: bytes) -> tuple[str, bytes | str]:
    kinds = [m[0] for m in MUTATIONS] + SPECIAL
    kind = rng.choice(kinds)
    if kind in SPECIAL:
        return kind, kind
    if kind == "two mutations":
        name1, once = _mutate(rng, data)
        if isinstance(once, str):
            return name1, once
        name2, twice = _mutate(rng, once)
        return f"{name1} + {name2}", twice
    return kind, dict(MUTATIONS)[kind](rng, data)


def _place(path: Path, content: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if content == SPECIAL[0]:
        os.mkfifo(path)
    elif content == SPECIAL[1]:
        path.mkdir()
    elif content == SPECIAL[2]:
        path.symlink_to(path.parent / "nowhere")
    else:
        path.write_bytes(content)


class CaseTimeout(Exception):
    pass


@contextmanager
def _guard(seconds: int):
    def expire(signum, frame):
        raise CaseTimeout(f"no result after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _shared(tmp_path: Path) -> Path:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "corpus.jsonl").write_bytes(_jsonl(*[{"_id": d, "text": f"passage {d}"}
                                                  for d in DOCS]))
    return shared


def _run_case(reader: Reader, folder: Path, content: bytes | str,
              guard: int = GUARD_SECONDS) -> str:
    """'accepted' or 'error'; anything else raises AssertionError with what happened."""
    path = folder / reader.file
    _place(path, content)
    if reader.name.startswith("generate"):  # the other resume file, valid
        other = "rejected.jsonl" if path.name == "queries.jsonl" else "queries.jsonl"
        (path.parent / other).write_bytes(_jsonl(_query("d1")) if other == "queries.jsonl"
                                          else b"")
    try:
        with _guard(guard):
            reader.call(path)
    except CorpusfitError as e:
        where = str(path.parent if reader.name == "corpus folder" else path)
        message = str(e)
        assert where in message or str(path) in message, f"message names no file: {message}"
        if isinstance(e, DataError):
            assert Path(e.path).is_relative_to(folder), f"error points elsewhere: {message}"
        return "error"
    except CaseTimeout as e:
        raise AssertionError(f"hang: {e}") from None
    except Exception:  # noqa: BLE001 - this is what the test is looking for
        raise AssertionError("traceback:\n" + traceback.format_exc()) from None
    return "accepted"


def test_fuzzed_inputs_end_in_acceptance_or_a_clean_error(tmp_path, record_property):
    shared = _shared(tmp_path)
    readers = _readers(shared)
    counts: dict[str, Counter] = {}
    failures = []
    for r_index, reader in enumerate(readers):
        assert _run_case(reader, tmp_path / f"valid-{r_index}", reader.valid) == "accepted", \
            f"{reader.name}: the valid input is refused"
        rng = random.Random(f"{SEED}:{reader.name}")
        counts[reader.name] = Counter()
        for case in range(CASES_PER_READER):
            kind, content = _mutate(rng, reader.valid)
            folder = tmp_path / f"r{r_index}-c{case}"
            try:
                counts[reader.name][_run_case(reader, folder, content)] += 1
            except AssertionError as e:
                failures.append(f"{reader.name} / {kind} (case {case}): {e}")
    total = sum(sum(c.values()) for c in counts.values())
    table = "\n".join(f"  {name:34s} error {c['error']:3d}  accepted {c['accepted']:3d}"
                      for name, c in counts.items())
    record_property("fuzz_counts", {n: dict(c) for n, c in counts.items()})
    print(f"\nfuzz: {total} mutated inputs over {len(readers)} readers\n{table}")
    assert not failures, f"{len(failures)} of {total} cases failed:\n" + "\n\n".join(failures[:8])
    assert total >= 300


def test_the_fuzzer_catches_a_traceback(tmp_path):
    """The harness can fail: a reader that raises KeyError is reported, not counted."""
    def broken(path: Path):
        return json.loads(path.read_text())["missing"]

    reader = Reader("broken", "x.json", b"{}", broken)
    with pytest.raises(AssertionError, match="traceback"):
        _run_case(reader, tmp_path, b"{}")
    slow = Reader("slow", "y.txt", b"", lambda p: open(p).read())  # a FIFO blocks open()
    with pytest.raises(AssertionError, match="hang"):
        _run_case(slow, tmp_path, SPECIAL[0], guard=1)
