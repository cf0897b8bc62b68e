"""Teacher configs: one model per kind, chosen by ``kind``; runtime-only fields marked."""

import pytest
from pydantic import ValidationError

from corpusfit.config import validate_config
from corpusfit.errors import ConfigError
from corpusfit.fields import runtime_fields
from corpusfit.teach.config import (
    DenseTeacherConfig,
    LLMJudgeTeacherConfig,
    QueryLikelihoodTeacherConfig,
    teacher_config,
)


def test_kind_chooses_the_model_and_its_fields():
    assert isinstance(teacher_config(kind="dense", model="minilm"), DenseTeacherConfig)
    judge = teacher_config(kind="llm-judge", model="smollm2", base_url="http://x")
    assert isinstance(judge, LLMJudgeTeacherConfig) and judge.yes_token == " yes"
    with pytest.raises(ValidationError, match="prompt"):
        teacher_config(kind="bm25", prompt="x")  # bm25 has no prompt: a typo, not ignored
    with pytest.raises(ValidationError, match="model"):
        teacher_config(kind="dense")  # a model kind needs its model


def test_unknown_or_nested_kind_is_rejected_naming_the_key(tiny_beir):
    with pytest.raises(ConfigError, match=r"label\.teacher.*'nope'.*'kind'") as err:
        validate_config({"corpus": str(tiny_beir), "label": {"teacher": {"kind": "nope"}}})
    assert "cross-encoder" in str(err.value)  # the known kinds are listed
    nested = {"kind": "ensemble", "members": [{"kind": "ensemble", "members": [{"kind": "bm25"}]}]}
    with pytest.raises(ConfigError, match=r"label\.teacher\.members\.0.*'ensemble'"):
        validate_config({"corpus": str(tiny_beir), "label": {"teacher": nested}})


def test_a_misspelt_key_inside_a_kind_names_the_key_as_written(tiny_beir):
    teacher = {"kind": "ensemble", "members": [{"kind": "bm25", "modle": "x"}]}
    with pytest.raises(ConfigError, match=r"unknown key 'label\.teacher\.members\.0\.modle'"):
        validate_config({"corpus": str(tiny_beir), "label": {"teacher": teacher}})


def test_runtime_only_fields_are_marked_on_the_field_and_left_out_of_the_id():
    assert runtime_fields(QueryLikelihoodTeacherConfig) == {"batch_size", "device", "kv_reuse",
                                                            "n_threads"}
    assert {"base_url", "api_key_env", "max_retries"} <= runtime_fields(LLMJudgeTeacherConfig)
    assert runtime_fields(DenseTeacherConfig) == {"batch_size", "device", "embedding_cache",
                                                  "precision"}
    base = teacher_config(kind="query-likelihood", model="smollm2")
    fast = base.model_copy(update={"n_threads": 8, "batch_size": 64, "kv_reuse": False})
    assert fast.teacher_id() == base.teacher_id()
    assert "n_threads" not in base.identity() and base.identity()["model"] == "smollm2"
    other = teacher_config(kind="query-likelihood", model="smollm2", max_query_tokens=32)
    assert other.teacher_id() != base.teacher_id()
