"""Query types: what to ask the LLM for, its few-shot pool, and the shape a good answer has.

Built-in types follow the paper (question, claim, keywords, title, natural). Users add
their own in a YAML or TOML file::

    [[types]]
    name = "faq"
    instruction = "Write a question a customer could ask that the passage answers."
    shape = "question"
    examples = [{passage = "...", query = "..."}]
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Literal

import tomllib
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from corpusfit.errors import ConfigError, DataError, describe_validation
from corpusfit.reading import exists, read_text
from corpusfit.yamlfile import load_yaml

Shape = Literal["question", "statement", "keywords", "title", "free"]


class Example(BaseModel):
    """One few-shot example: a passage and the query written for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    passage: str = Field(min_length=1)
    query: str = Field(min_length=1)


class QueryType(BaseModel):
    """A kind of synthetic query.

    ``shape`` decides the format checks of the cleaner; ``min_words``/``max_words``
    bound the cleaned output. An empty ``examples`` list means zero-shot.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    instruction: str = Field(min_length=1)
    shape: Shape = "free"
    examples: tuple[Example, ...] = ()
    min_words: StrictInt = Field(2, ge=1)
    max_words: StrictInt = Field(30, ge=1)
    max_new_tokens: StrictInt | None = Field(
        None, ge=1, description="token budget of one answer (default: sampling.max_new_tokens)")


# name -> (instruction, shape, min words, max words, max new tokens). A budget is about
# twice the longest accepted answer of its type (benchmarks/results/defaults.md).
_INSTRUCTIONS = {
    "question": ("Write one question that the passage answers. Reply with the question only.",
                 "question", 3, 30, 50),
    "claim": ("Write one short factual statement that the passage supports. "
              "Reply with the statement only.", "statement", 4, 35, 50),
    "keywords": ("Write up to 5 search keywords for the passage, separated by commas. "
                 "Reply with the keywords only.", "keywords", 1, 25, 40),
    "title": ("Write a short title for the passage. Reply with the title only.", "title", 2, 24,
              32),
    "natural": ("Write a short web search query, a few words long, that would find this "
                "passage. Reply with the search query only, nothing else.", "free", 2, 16, 32),
}
ZERO_SHOT = {"natural"}
BUILTIN_TYPES = tuple(_INSTRUCTIONS)


def load_fewshot_pool(name: str) -> tuple[Example, ...]:
    """The packaged few-shot pool ``generate/fewshot/<name>.jsonl``."""
    ref = resources.files("corpusfit.generate").joinpath("fewshot", f"{name}.jsonl")
    return tuple(_parse_examples(ref.read_text(encoding="utf-8"), str(ref)))


def _parse_examples(text: str, where: str) -> list[Example]:
    examples = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            examples.append(Example.model_validate(json.loads(line)))
        except json.JSONDecodeError as e:
            raise DataError(where, i, f"bad few-shot example: {e}") from e
        except ValidationError as e:
            raise DataError(where, i, "bad few-shot example: "
                            f"{describe_validation(e, limit=1)}") from None
    return examples


def builtin_type(name: str) -> QueryType:
    instruction, shape, lo, hi, tokens = _INSTRUCTIONS[name]
    examples = () if name in ZERO_SHOT else load_fewshot_pool(name)
    return QueryType(name=name, instruction=instruction, shape=shape, examples=examples,
                     min_words=lo, max_words=hi, max_new_tokens=tokens)


def load_type_file(path: str | Path) -> dict[str, QueryType]:
    """User-defined types from a YAML or TOML file with a top-level ``types`` list."""
    path = Path(path)
    if not exists(path):
        raise DataError(path, None, "query type file not found")
    text = read_text(path, "query type file")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else load_yaml(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        raise DataError(path, None if line is None else line + 1, f"cannot parse: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("types"), list):
        raise DataError(path, None, "expected a top-level 'types' list")
    types = {}
    for n, entry in enumerate(data["types"], start=1):
        try:
            qtype = QueryType.model_validate(entry)
        except ValidationError as e:
            raise DataError(path, None, f"type #{n}: {describe_validation(e, limit=1)}") from None
        types[qtype.name] = qtype
    return types


def resolve_types(names: list[str], type_file: str | Path | None = None) -> list[QueryType]:
    """QueryTypes for ``names``: user-defined ones (from ``type_file``) win over built-ins."""
    user = load_type_file(type_file) if type_file else {}
    if not names:
        names = list(user) or list(BUILTIN_TYPES)
    resolved = []
    for name in names:
        if name in user:
            resolved.append(user[name])
        elif name in _INSTRUCTIONS:
            resolved.append(builtin_type(name))
        else:
            known = sorted(set(BUILTIN_TYPES) | set(user))
            raise ConfigError(f"unknown query type '{name}' (known: {', '.join(known)})")
    if len({t.name for t in resolved}) != len(resolved):
        raise ConfigError(f"query types listed twice: {names}")
    return resolved
