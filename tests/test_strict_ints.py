"""Integers of a config are integers: ``true`` or ``2.5`` for ``epochs`` is an error, not 1."""

from __future__ import annotations

import re
import typing

import pytest
from config_walk import models_in
from pydantic import BaseModel, TypeAdapter, ValidationError

from corpusfit.config import load_config, pipeline_config_class
from corpusfit.errors import ConfigError


def _int_fields(model: type[BaseModel], prefix: str = "", seen=None) -> dict[str, object]:
    """Every config key whose value may be an int, with a validator for the field alone."""
    seen = set() if seen is None else seen
    found: dict[str, object] = {}
    for name, field in model.model_fields.items():
        nested = models_in(field.annotation)
        for sub in nested:
            if sub not in seen:
                found.update(_int_fields(sub, f"{prefix}{name}.", seen | {sub}))
        if not nested and re.search(r"\bint\b", str(field.annotation)):
            found[f"{model.__name__}.{name}"] = field
    return found


INT_FIELDS = _int_fields(pipeline_config_class())


def test_the_walk_finds_the_ints():
    names = {k.split(".", 1)[1] for k in INT_FIELDS}
    assert {"epochs", "queries_per_step", "score_depth", "depth", "n_ctx", "sample",
            "fewshot"} <= names


@pytest.mark.parametrize("key", list(INT_FIELDS))
def test_every_config_int_rejects_booleans_and_fractions(key):
    field = INT_FIELDS[key]
    ann = field.annotation
    adapter = TypeAdapter(typing.Annotated[(ann, *field.metadata)] if field.metadata else ann)
    for bad in (True, False, 2.5):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
    good = max([m.ge for m in field.metadata if hasattr(m, "ge")] or [1]) + 4
    assert adapter.validate_python(good) == good


def test_a_boolean_epoch_count_names_its_key(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"_id": "1", "text": "x"}\n')
    with pytest.raises(ConfigError, match="train.epochs"):
        load_config(None, ["train.epochs=true"], base={"corpus": str(corpus)})
