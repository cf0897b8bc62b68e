"""The documented config: ``corpusfit init``'s commented YAML and the README's reference table.

Both are generated from the config models (descriptions, types, defaults), so they
cannot drift from the code. A field that is a discriminated union (a teacher by
``kind``, a backend by ``name``) is shown with the keys of its default choice and a
line naming every choice.
"""

from __future__ import annotations

import textwrap
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from corpusfit.config import _nested_model, pipeline_config_class

TAG_KEYS = ("kind", "name")


def _choices(annotation: Any) -> list[type[BaseModel]]:
    """The models of a union annotation (through Annotated wrappers); [] for anything else."""
    if isinstance(annotation, type):
        return [annotation] if issubclass(annotation, BaseModel) else []
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _choices(typing.get_args(annotation)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return [m for a in typing.get_args(annotation) for m in _choices(a)]
    return []


def _tag_of(model: type[BaseModel]) -> str | None:
    for key in TAG_KEYS:
        field = model.model_fields.get(key)
        args = typing.get_args(field.annotation) if field else ()
        if field and typing.get_origin(field.annotation) is typing.Literal and args:
            return f"{key}: {args[0]}"
    return None


def _section(annotation: Any, value: Any) -> tuple[type[BaseModel] | None, str]:
    """(the model that ``value`` is an instance of, a note naming every choice of a union)."""
    nested = _nested_model(annotation)
    if nested is not None or not isinstance(value, dict):
        return nested, ""
    choices = _choices(annotation)
    if len(choices) < 2:
        return None, ""
    try:
        model = type(TypeAdapter(annotation).validate_python(value))
    except ValidationError:
        return None, ""
    tags = [t for t in (_tag_of(m) for m in choices) if t]
    key = tags[0].split(":")[0] if tags else "kind"
    names = ", ".join(t.split(": ", 1)[1] for t in tags) or "custom"
    return model, f"one of {key} = {names} (custom: package.module:Class)" if key == "name" \
        else f"one of {key} = {names}"


def _type_name(annotation: Any) -> str:
    """A short reader's name: ``int``, ``float or null``, ``{auto}``, ``dict[str, float]``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:  # FiniteFloat, StrictInt, constrained fields
        return _type_name(args[0])
    if origin is typing.Union or origin is types.UnionType:
        return " or ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return "{" + " / ".join(str(a) for a in args) + "}"
    if origin is not None and args:
        return f"{getattr(origin, '__name__', origin)}[{', '.join(map(_type_name, args))}]"
    if annotation is type(None):
        return "null"
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    for junk in ("typing.", "pathlib.", "corpusfit.", "teach.config."):
        text = text.replace(junk, "")
    return text


def _inline_yaml(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _field_default(field: Any) -> Any:
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    return value


def commented_yaml(model: type[BaseModel], indent: int = 0,
                   values: dict | None = None) -> list[str]:
    """YAML lines for ``model``'s fields with their values, each preceded by its description.

    ``values`` (a dumped instance) wins over the class defaults; a nested section's
    default instance is used as it is (e.g. a default teacher that is an ensemble).
    """
    pad = " " * indent
    lines: list[str] = []
    for name, field in model.model_fields.items():
        desc = (field.description or "").strip()
        if desc:
            lines += [f"{pad}# {part}" for part in textwrap.wrap(desc, 96 - indent)]
        if values and name in values:
            value = values[name]
        elif field.is_required():
            lines.append(f"{pad}{name}: null  # required ({_type_name(field.annotation)})")
            continue
        else:
            value = _field_default(field)
        nested, choices = _section(field.annotation, value)
        if nested is not None and isinstance(value, dict):
            if choices:
                lines.append(f"{pad}# {choices}; the keys below are this choice's")
            lines.append(f"{pad}{name}:")
            lines += commented_yaml(nested, indent + 2, value)
            if indent == 0:
                lines.append("")
            continue
        lines += _value_lines(pad, name, _strip_item_defaults(field.annotation, value))
    return lines


def _strip_item_defaults(annotation: Any, value: Any) -> Any:
    """For a list of models, drop keys left at their defaults so the file stays readable."""
    args = typing.get_args(annotation)
    if len(args) != 1 or not isinstance(value, list):
        return value
    out = []
    for x in value:
        item = _nested_model(args[0]) or _section(args[0], x)[0]
        if item is None or not isinstance(x, dict):
            out.append(x)
            continue
        defaults = {n: _field_default(f) for n, f in item.model_fields.items()
                    if not f.is_required()}
        out.append({k: v for k, v in x.items() if k not in defaults or defaults[k] != v})
    return out


def _value_lines(pad: str, name: str, value: Any) -> list[str]:
    nested = isinstance(value, list | dict) and any(
        isinstance(x, list | dict) for x in (value.values() if isinstance(value, dict) else value))
    if not nested:
        return [f"{pad}{name}: {_inline_yaml(value)}"]
    block = yaml.safe_dump(value, default_flow_style=None, sort_keys=False, width=96,
                           allow_unicode=True)
    return [f"{pad}{name}:"] + [f"{pad}  {line}" for line in block.splitlines()]


def init_text(values: dict | None = None) -> str:
    """The file ``corpusfit init`` writes: every option, its default and what it means."""
    head = ["# corpusfit pipeline config: `corpusfit run THIS_FILE`.",
            "# Every key below is shown with its default; delete what you do not change.",
            "# Unknown keys are errors. Override any key on the command line with",
            "# --set section.key=value (e.g. --set train.lr=1e-4).", ""]
    return "\n".join(head + commented_yaml(pipeline_config_class(), values=values)) + "\n"


def reference_markdown() -> str:
    """A Markdown table of every option (key, type, default, description) for the README."""
    rows = ["| key | type | default | description |", "|---|---|---|---|"]

    def walk(model: type[BaseModel], prefix: str, values: dict) -> None:
        for name, field in model.model_fields.items():
            if name in values:
                value = values[name]
            else:
                value = None if field.is_required() else _field_default(field)
            nested, choices = _section(field.annotation, value)
            if nested is not None and isinstance(value, dict):
                if choices:
                    desc = (field.description or "").replace("|", "\\|")
                    rows.append(f"| `{prefix}{name}` | {choices} | (below) | {desc}: the "
                                "keys below are the default choice's |")
                walk(nested, f"{prefix}{name}.", value)
                continue
            value = _strip_item_defaults(field.annotation, value)
            default = "required" if field.is_required() and name not in values else \
                _inline_yaml(value)
            desc = (field.description or "").replace("|", "\\|").replace("\n", " ")
            kind = _type_name(field.annotation).replace("|", "\\|")
            rows.append(f"| `{prefix}{name}` | {kind} | `{default}` | {desc} |")

    walk(pipeline_config_class(), "", {})
    return "\n".join(rows) + "\n"
