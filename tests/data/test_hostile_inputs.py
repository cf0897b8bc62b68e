"""Each raw traceback, hang and silent acceptance the probe of #15 found, as a clean error.

Every bad input is a CorpusfitError naming the file (and the line where there is one);
the CLI turns it into exit 2. Things that only look like files (FIFOs, devices,
directories, dangling links) are refused or skipped by name, never read.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from corpusfit.cli import main as cli_main
from corpusfit.config import load_config, read_yaml
from corpusfit.data.artifacts import Candidates, SyntheticQuery, load_artifact
from corpusfit.data.ids import read_id_file
from corpusfit.data.ingest import IngestConfig
from corpusfit.data.readers import load_corpus, load_qrels
from corpusfit.errors import ConfigError, CorpusfitError, DataError
from corpusfit.retrieve.mine import MineConfig
from corpusfit.retrieve.trec import read_trec_run
from corpusfit.stages.ingest import run_ingest
from corpusfit.stages.mine import run_mine
from corpusfit.workspace import (
    JsonlAppender,
    file_sha256,
    iter_jsonl_numbered,
    iter_jsonl_tolerant,
    read_json,
    write_jsonl,
)

BAD_UTF8 = b"\xff\xfe bad"


def _corpus(tmp_path: Path, n: int = 4) -> Path:
    path = tmp_path / "corpus.jsonl"
    write_jsonl(path, ({"_id": f"d{i}", "text": f"passage number {i} about wings"}
                       for i in range(n)))
    return path


# --- non-UTF-8 bytes in every reader, lone surrogates, JSON shape -----------------------

@pytest.mark.parametrize("reader,name,head", [
    (read_json, "state.json", b'{"a":\n'),
    (lambda p: list(iter_jsonl_numbered(p)), "x.jsonl", b'{"a": 1}\n'),
    (read_trec_run, "run.trec", b"q Q0 d 1 1.0 t\n"),
    (read_id_file, "ids.txt", b"d1\n"),
    (load_qrels, "qrels.tsv", b"q\td\t1\n"),
    (read_yaml, "c.yaml", b"corpus: x\n"),
])
def test_non_utf8_names_file_and_line(tmp_path, reader, name, head):
    path = tmp_path / name
    path.write_bytes(head + BAD_UTF8 + b"\n")
    with pytest.raises(CorpusfitError, match=rf"{name}:2: not valid UTF-8"):
        reader(path)


def test_lone_surrogate_and_duplicate_json_keys_are_errors(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": "a \\ud800 b"}\n')
    with pytest.raises(DataError, match=r"corpus.jsonl:2: .*lone surrogate"):
        load_corpus(path)
    path.write_text('{"_id": "d1", "text": "ok", "text": "again"}\n')
    with pytest.raises(DataError, match=r"corpus.jsonl:1: .*duplicate key 'text'"):
        load_corpus(path)


@pytest.mark.parametrize("text,reason", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"_id": ' + "9" * 5000 + "}", "bad JSON"),
    ('"just a string"', "expected a JSON object"),
])
def test_json_that_python_chokes_on(tmp_path, text, reason):
    path = tmp_path / "q.jsonl"
    path.write_text(text + "\n")
    with pytest.raises(DataError, match=rf"q.jsonl:1: .*{reason}"):
        list(iter_jsonl_numbered(path))


# --- regular files only ------------------------------------------------------------------

@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_corpus_is_refused_not_read_forever(device, tmp_path):
    with pytest.raises(DataError, match="a device, not a regular file"):
        load_corpus(device)
    with pytest.raises(DataError, match="a device"):
        file_sha256(device)
    with pytest.raises(ConfigError, match="neither a regular file nor a folder"):
        load_config(None, [f"corpus={device}"])
    assert cli_main(["ingest", "--data", device, "--out", str(tmp_path / "o")]) == 2


def test_a_fifo_as_corpus_is_refused(tmp_path):
    fifo = tmp_path / "corpus.tsv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"named pipe \(FIFO\), not a regular file"):
        load_corpus(fifo)
    assert cli_main(["ingest", "--data", str(fifo), "--out", str(tmp_path / "o")]) == 2


def test_corpus_folder_skips_what_only_looks_like_a_text_file(tmp_path, caplog):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("a real document")
    (folder / "dir.txt").mkdir()
    (folder / "dir.txt" / "inner.md").write_text("a document in a folder named dir.txt")
    (folder / "gone.txt").symlink_to(tmp_path / "nowhere")
    os.mkfifo(folder / "pipe.txt")
    with caplog.at_level(logging.WARNING):
        docs = load_corpus(folder)
    assert sorted(docs) == ["a", "dir.txt/inner"]
    warned = caplog.text
    assert "gone.txt: corpus file is a dangling symbolic link (skipped)" in warned
    assert "pipe.txt: corpus file is a named pipe (FIFO)" in warned
    assert "dir.txt: corpus file is a directory" in warned


def test_run_dir_that_is_a_file_is_a_config_error(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    corpus = _corpus(tmp_path)
    with pytest.raises(ConfigError, match="run_dir.*exists and is not a folder"):
        load_config(None, [f"corpus={corpus}", f"run_dir={target}"])
    config = tmp_path / "c.yaml"
    config.write_text(f"corpus: {corpus}\nrun_dir: {target}\n")
    assert cli_main(["run", str(config)]) == 2


# --- YAML bounds -------------------------------------------------------------------------

def test_deep_yaml_is_an_error_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match=r"deep.yaml:1: .*nested deeper than 64"):
        read_yaml(path)


def test_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ["generate:", "  backend:", "    name: openai", "    model: m", "    options:",
             '      l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"      l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"bomb.yaml:\d+: .*aliases are expanded"):
        read_yaml(path)


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("a: &x [1, *x]\n")
    with pytest.raises(ConfigError, match="recursive alias"):
        read_yaml(path)


def test_duplicate_yaml_key_names_key_and_line(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("corpus: a\ntrain:\n  lr: 1.0e-4\n  epochs: 1\n  lr: 1.0\n")
    with pytest.raises(ConfigError, match=r"dup.yaml:5: .*duplicate key 'lr' \(first on line 3\)"):
        read_yaml(path)
    path.write_text("base: &b {lr: 1}\ntrain:\n  <<: *b\n  lr: 2\n")  # a merge key overrides
    assert read_yaml(path)["train"] == {"lr": 2}


def test_duplicate_key_in_a_set_override_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="duplicate key 'a'"):
        load_config(None, [f"corpus={_corpus(tmp_path)}", "variants={a: {}, a: {}}"])


# --- silent acceptances --------------------------------------------------------------------

def test_yes_is_not_a_sample_size(tmp_path):
    with pytest.raises(ConfigError, match="ingest.sample"):
        load_config(None, [f"corpus={_corpus(tmp_path)}", "ingest.sample=yes"])
    assert load_config(None, [f"corpus={_corpus(tmp_path)}", "ingest.sample=3"]).ingest.sample == 3


def test_no_retriever_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="mine.retrievers"):
        load_config(None, [f"corpus={_corpus(tmp_path)}", "mine.retrievers=[]"])


@pytest.mark.parametrize("content", ["", "\n\n", '{"_id": "a", "text": "x"}\n'[:0]])
def test_empty_corpus_is_an_error(tmp_path, content):
    path = tmp_path / "corpus.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match="corpus.jsonl: the corpus holds no documents"):
        load_corpus(path)
    assert cli_main(["ingest", "--data", str(path), "--out", str(tmp_path / "o")]) == 2


def test_bom_in_a_tsv_corpus_is_dropped(tmp_path):
    path = tmp_path / "corpus.tsv"
    path.write_bytes("\ufeff1\tfirst passage\n2\tsecond passage\n".encode())
    assert sorted(load_corpus(path)) == ["1", "2"]


@pytest.mark.parametrize("doc_id,reason", [
    ("a\nb", "control character"), ("a\u2028b", "control character"),
    (" a", "leading or trailing whitespace"), ("", "is empty")])
def test_ids_that_would_split_an_id_file_are_errors(tmp_path, doc_id, reason):
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"_id": "ok", "text": "x"}) + "\n"
                    + json.dumps({"_id": doc_id, "text": "y"}) + "\n")
    with pytest.raises(DataError, match=rf"corpus.jsonl:2: '_id' .* {reason}"):
        load_corpus(path)


def test_one_id_file_reader(tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("a\n\nb\r\n")
    assert read_id_file(ids) == ["a", "b"]
    ids.write_text("a\nb\na\n")
    with pytest.raises(DataError, match=r"ids.txt:3: duplicate id 'a' \(first on line 1\)"):
        read_id_file(ids)
    ids.write_text("# comment\n a \n")
    assert read_id_file(ids, comments=True) == ["a"]
    with pytest.raises(DataError, match=r"ids.txt:2: unknown document id 'a'"):
        read_id_file(ids, {"b"}, comments=True)
    dups = tmp_path / "duplicates.jsonl"
    dups.write_text('{"_id": "x", "duplicate_of": "y"}\n[1]\n')
    with pytest.raises(DataError, match="duplicates.jsonl:2: expected a JSON object"):
        read_id_file(dups)


def test_a_newline_in_an_ingested_id_cannot_split_sampled_txt(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"_id": "a\nb", "text": "passage"}) + "\n")
    with pytest.raises(DataError, match=r"corpus.jsonl:1: '_id' 'a\\nb' holds"):
        run_ingest(IngestConfig(), corpus, tmp_path / "o")


def _queries(path: Path, qids: list[str]) -> Path:
    write_jsonl(path, ({"qid": q, "text": "wings", "type": "keywords", "source_id": "d1"}
                       for q in qids))
    return path


@pytest.mark.parametrize("qids,reason", [
    (["q1", "q2", "q1"], r":3: duplicate qid 'q1' \(first on line 1\)"),
    (["q1", ""], r":2: 'qid' '' is empty")])
def test_duplicate_or_empty_qids_stop_mine_and_label(tmp_path, qids, reason):
    path = _queries(tmp_path / "queries.jsonl", qids)
    with pytest.raises(DataError, match=reason):
        load_artifact(path, SyntheticQuery)
    cands = tmp_path / "candidates.jsonl"
    write_jsonl(cands, ({"qid": q, "query": "x", "type": "t", "source_id": "d1",
                         "doc_ids": ["d1"], "rrf_scores": [1.0], "ranks": {}} for q in qids))
    with pytest.raises(DataError, match=reason):
        load_artifact(cands, Candidates)


def test_zero_queries_do_not_reach_bm25(tmp_path):
    queries = tmp_path / "queries.jsonl"
    queries.write_text("")
    with pytest.raises(DataError, match="queries.jsonl: no queries to mine"):
        run_mine(MineConfig(retrievers=["bm25"]), queries, _corpus(tmp_path), tmp_path / "m")


def test_everything_excluded_is_an_error(tmp_path):
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("".join(f"d{i}\n" for i in range(4)))
    with pytest.raises(DataError, match="no passage left"):
        run_mine(MineConfig(retrievers=["bm25"]), _queries(tmp_path / "q.jsonl", ["q1"]),
                 _corpus(tmp_path), tmp_path / "m", heldout=heldout)


def test_torn_line_in_a_file_written_whole_is_corruption(tmp_path, caplog):
    path = tmp_path / "lists.jsonl"
    path.write_text('{"qid": "a"}\n{"qid": "b", "do')
    with pytest.raises(DataError, match="lists.jsonl:2: malformed JSON"):
        list(iter_jsonl_numbered(path))
    # An append-only file can tear in a crash: there the last line is skipped.
    with caplog.at_level(logging.WARNING):
        assert list(iter_jsonl_tolerant(path)) == [{"qid": "a"}]
    assert "torn last line 2" in caplog.text
    with JsonlAppender(path) as out:
        out.add({"qid": "c"})
    assert [r["qid"] for r in iter_jsonl_tolerant(path)] == ["a", "c"]


def test_encoder_max_length_is_clamped_to_the_model(tiny_bert):
    """The tiny BERT has 128 positions; the default passage length is 256 tokens."""
    from corpusfit.retrieve.encoder import DenseEncoder
    from corpusfit.retrieve.settings import EncoderOptions
    from corpusfit.retrieve.st_folder import max_length

    encoder = DenseEncoder.load(str(tiny_bert), EncoderOptions(passage_max_length=256),
                                device="cpu")
    assert max_length(encoder.model, "passage") == 128
    vectors = encoder.encode(["wing lift " * 400, "drag"], kind="passage")
    assert vectors.shape[0] == 2


def test_query_type_file_goes_through_the_bounded_yaml_reader(tmp_path):
    from corpusfit.generate.types import load_type_file

    path = tmp_path / "types.yaml"
    path.write_text("types:\n  - {name: a, instruction: x}\ntypes: []\n")
    with pytest.raises(DataError, match=r"(?s)types.yaml:3: .*duplicate key 'types'"):
        load_type_file(path)
    path.write_bytes(b"types: []\n" + BAD_UTF8)
    with pytest.raises(DataError, match=r"types.yaml:2: not valid UTF-8"):
        load_type_file(path)


def test_a_malformed_score_cache_record_names_its_line(tmp_path):
    from corpusfit.teach.cache import ScoreCache

    shard = tmp_path / "t" / "main.jsonl"
    shard.parent.mkdir()
    shard.write_text('{"q": "h", "d": "d1", "s": 1.0}\n{"q": "h", "d": "d2"}\n{"q": "h", "d"')
    with pytest.raises(DataError, match=r"main.jsonl:2: expected a score record"):
        ScoreCache(tmp_path, "t")
    shard.write_text('{"q": "h", "d": "d1", "s": 1.0}\n{"q": "h", "d"')  # torn tail: a crash
    assert len(ScoreCache(tmp_path, "t")) == 1
