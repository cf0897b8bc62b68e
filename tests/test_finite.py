"""Finite or fail: NaN/inf in a config, lists, runs, qrels or teacher scores is an error."""

from __future__ import annotations

import json
import typing

import pytest
from config_walk import models_in
from pydantic import BaseModel

from corpusfit.config import load_config, pipeline_config_class
from corpusfit.data.readers import load_qrels
from corpusfit.errors import ConfigError, CorpusfitError, DataError
from corpusfit.retrieve.trec import read_trec_run
from corpusfit.teach.scoring import CachedScorer
from corpusfit.train.data import load_training_data


def _float_keys(model: type[BaseModel], prefix: str = "") -> list[tuple[str, object]]:
    """Every config key holding floats (directly, in a list or as dict values)."""
    found: dict[str, object] = {}
    for name, field in model.model_fields.items():
        ann = field.annotation
        nested = models_in(ann)
        for sub in nested:
            found.update(_float_keys(sub, f"{prefix}{name}."))
        if not nested and ("float" in str(ann) or ann is float):
            found[f"{prefix}{name}"] = ann
    return list(found.items())


def _bad_value(ann: object, bad: str) -> str:
    for arg in [ann, *typing.get_args(ann)]:
        origin = typing.get_origin(arg)
        if origin is dict:
            key = typing.get_args(typing.get_args(arg)[0])[0]  # first name of a Literal key
            return f"{{{key}: {bad}}}"
        if origin is list:
            return f"[{bad}, 1.0]"
    return bad


FLOAT_KEYS = _float_keys(pipeline_config_class())
ENSEMBLE = {"kind": "ensemble", "members": [{"kind": "bm25"}, {"kind": "bm25"}]}
JUDGE = {"kind": "llm-judge", "model": "m", "backend": "openai", "base_url": "http://x/v1"}
JUDGE_ONLY = {"label.teacher.timeout"}  # a float of the server judge alone
PRF_ONLY = {"label.teacher.original_weight"}  # a float of BM25 with feedback alone


def _teacher(key: str) -> dict:
    return JUDGE if key in JUDGE_ONLY else {"kind": "bm25-prf"} if key in PRF_ONLY else ENSEMBLE


def test_the_config_has_the_floats_the_issue_names():
    keys = {k for k, _ in FLOAT_KEYS}
    assert {"train.lr", "train.objective", "train.max_minutes", "label.teacher.weights",
            "train.loss.teacher_temperature", "generate.sampling.temperature"} <= keys


@pytest.mark.parametrize("key, ann", FLOAT_KEYS, ids=[k for k, _ in FLOAT_KEYS])
@pytest.mark.parametrize("bad", [".nan", ".inf", "-.inf"])
def test_every_config_float_must_be_finite(tmp_path, key, ann, bad):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"_id": "1", "text": "x"}\n')
    with pytest.raises(ConfigError, match=f"'{key}.*finite"):
        load_config(None, [f"{key}={_bad_value(ann, bad)}"], base={
            "corpus": str(corpus),
            "generate": {"backend": {"name": "openai"}},  # the backend with float keys
            "label": {"teacher": _teacher(key)}})


def _lists(tmp_path, scores: str) -> tuple:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": d, "text": f"text {d}"}) + "\n"
                              for d in ("a", "b")))
    good = {"qid": "q1", "query": "q", "type": "question", "source_id": "a",
            "doc_ids": ["a", "b"], "scores": [1.0, 0.5], "raw_scores": [2.0, 1.0],
            "split": "train"}
    lists = tmp_path / "lists.jsonl"
    bad = json.dumps({**good, "qid": "q2"}).replace('"scores": [1.0, 0.5]',
                                                    f'"scores": {scores}')
    lists.write_text(json.dumps(good) + "\n" + bad + "\n")
    return lists, corpus


@pytest.mark.parametrize("scores", ["[NaN, 0.5]", "[1.0, Infinity]", "[-Infinity, 0.1]"])
def test_non_finite_list_scores_name_file_and_line(tmp_path, scores):
    lists, corpus = _lists(tmp_path, scores)
    with pytest.raises(DataError, match=r"lists\.jsonl:2: .*scores.*finite"):
        load_training_data(lists, corpus)


def test_trec_run_with_nan_score_is_rejected(tmp_path):
    run = tmp_path / "run.trec"
    run.write_text("q1 Q0 a 1 2.5 x\nq1 Q0 b 2 nan x\n")
    with pytest.raises(DataError, match=r"run\.trec:2: score 'nan' is not a finite number"):
        read_trec_run(run)


@pytest.mark.parametrize("grade", ["inf", "1e30", "0.7", "nan", "-inf"])
def test_bad_qrels_grades_name_file_and_line(tmp_path, grade):
    qrels = tmp_path / "test.tsv"
    qrels.write_text(f"query-id\tcorpus-id\tscore\nq1\ta\t1\nq1\tb\t{grade}\n")
    with pytest.raises(DataError, match=rf"test\.tsv:3: grade '{grade}' is not an integer"):
        load_qrels(qrels)


def test_integer_grades_are_kept_negative_ones_too(tmp_path):
    qrels = tmp_path / "test.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\ta\t2\nq1\tb\t1.0\nq1\tc\t-1\n")
    assert load_qrels(qrels) == {"q1": {"a": 2, "b": 1, "c": -1}}


class _NanTeacher:
    teacher_id = "nan-teacher"

    def score_lists(self, lists):
        return [[float("nan") if d == "text b" else 1.0 for d in docs] for _, docs in lists]


def test_teacher_nan_score_stops_label_before_the_cache(tmp_path):
    scorer = CachedScorer(_NanTeacher(), {"a": "text a", "b": "text b"}, tmp_path / "cache")
    with pytest.raises(CorpusfitError, match="non-finite score .*'q'.*'b'"):
        scorer.score_lists([("q", ["a", "b"])])
    scorer.close()
