"""One CLI vocabulary: the flags every subcommand spells the same way.

- ``--corpus`` is the corpus, ``--out`` the output folder, ``--test-data`` a BEIR test
  collection, ``--depth`` the documents a retriever returns per query (``label`` scores
  ``--score-depth`` candidates: another thing, another name).
- Old spellings (``--data``, ``--output``, label's ``--depth`` ...) still work for one
  release: hidden aliases of the same option, with a warning naming the new one.
- A flag that sets a config key is made from the config class (:func:`config_flag`): its
  help is the field's description and default, its type and choices the field's type, so
  the command line and the config file cannot drift apart. Each such flag names the
  dotted key it sets (:func:`key_flag` for one that no single class describes).
- Every stage command takes ``--config``, ``--set`` and ``--force``
  (:func:`add_stage_options`) and builds its config with :func:`stage_config`: the config
  file, then ``--set``, then the flags, then validation (:func:`corpusfit.config.load_section`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import types
import typing
from typing import Any

from pydantic import BaseModel

logger = logging.getLogger(__name__)


class _Renamed(argparse.Action):
    """A hidden old spelling: stores into the new flag's ``dest`` (as the new flag would:
    a value, True, or one more list item) and warns that it was renamed."""

    def __init__(self, option_strings, dest, new: str = "", kind: str = "store", **kwargs):
        if kind == "store_true":
            kwargs["nargs"] = 0
        super().__init__(option_strings, dest, **kwargs)
        self.new, self.kind = new, kind

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"corpusfit: warning: {option_string} is now {self.new}; the old spelling "
              "goes away in the next release", file=sys.stderr)
        if self.kind == "store_true":
            values = True
        elif self.kind == "append":
            values = [*(getattr(namespace, self.dest, None) or []), values]
        setattr(namespace, self.dest, values)


def renamed(p, new: str, *old: str, **kwargs) -> argparse.Action:
    """``new`` (documented) plus hidden ``old`` spellings of it; kwargs as add_argument."""
    action = p.add_argument(new, **kwargs)
    kind = kwargs.get("action", "store")
    for spelling in old:
        p.add_argument(spelling, dest=action.dest, action=_Renamed, new=new, kind=kind,
                       help=argparse.SUPPRESS, default=argparse.SUPPRESS,
                       **({} if kind == "store_true" else {"type": kwargs.get("type")}))
    return action


def add_corpus(p, help: str, required: bool = True) -> None:  # noqa: A002 - argparse's name
    """``--corpus`` (old spelling ``--data`` in ingest and generate)."""
    _required_one(p, required, "--corpus", "--data", help=help)


def add_out(p, help: str = "output folder", required: bool = True) -> None:  # noqa: A002
    """``--out`` (old spelling ``--output`` in mine, label and eval)."""
    _required_one(p, required, "--out", "--output", help=help)


def _required_one(p, required: bool, new: str, old: str, help: str) -> None:  # noqa: A002
    # A required flag with an alias: argparse checks "one of" a group (the hidden alias is
    # left out of its error message), since it cannot know two flags are one.
    target = p.add_mutually_exclusive_group(required=True) if required else p
    renamed(target, new, old, help=help)


def add_verbosity(p: argparse.ArgumentParser, top: bool = False) -> None:
    """``-q``/``-v``/``--debug``, accepted before and after the subcommand.

    On a subcommand their default is SUPPRESS, so that a ``-q`` given before the
    subcommand is not overwritten by the subcommand's own default.
    """
    default = False if top else argparse.SUPPRESS
    g = p.add_argument_group("output")
    g.add_argument("-q", "--quiet", action="store_true", default=default,
                   help="warnings and errors only; no progress bars")
    g.add_argument("-v", "--verbose", action="store_true", default=default,
                   help="debug logs")
    g.add_argument("--debug", action="store_true", default=default,
                   help="debug logs, and a traceback instead of a one-line error")


# --- flags made from config fields -------------------------------------------------------

def _strip(annotation: Any) -> list[Any]:
    """The non-None members of an annotation (through Optional, Union and Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _strip(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _strip(a)]
    return [] if annotation is type(None) else [annotation]


def _argparse_type(annotation: Any) -> dict:
    members = _strip(annotation)
    literals = [v for m in members if typing.get_origin(m) is typing.Literal
                for v in typing.get_args(m)]
    plain = [m for m in members if typing.get_origin(m) is not typing.Literal]
    if literals and not plain:
        return {"choices": literals}
    if len(plain) == 1 and plain[0] in (int, float, str):
        return {"type": plain[0]}
    if len(plain) == 1 and typing.get_origin(plain[0]) is list:
        return {"action": "append"}
    return {}  # e.g. "a number or auto": the config model parses the text


def field_help(model: type[BaseModel], field: str, extra: str = "") -> str:
    """The field's description, then its default (what the help of its flag says)."""
    info = model.model_fields[field]
    text = extra or info.description or field.replace("_", " ")
    default = info.get_default(call_default_factory=True)
    if default is not None and not isinstance(default, BaseModel | dict):
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        text += f" (default: {shown})"
    return text.replace("%", "%%")


def config_flag(p, model: type[BaseModel], field: str, *old: str, help: str = "",  # noqa: A002
                flag: str | None = None, key: str | None = None, **kwargs) -> argparse.Action:
    """A flag that sets ``model.field`` (default None: not given, the config decides).

    ``flag`` defaults to ``--field-name``; ``old`` are hidden former spellings; ``help``
    replaces the description (the default is still added); ``key`` is the dotted key the
    flag sets inside the stage's section (default: ``field``, e.g. ``sampling.temperature``
    for a field of a nested model); kwargs go to add_argument.
    """
    options = {**_argparse_type(model.model_fields[field].annotation), **kwargs}
    if options.get("action", "") is None:  # action=None: a plain "store" after all
        del options["action"]
    return key_flag(p, flag or "--" + field.replace("_", "-"), key or field, *old,
                    help=field_help(model, field, help), **options)


_KEYS = "_config_keys"  # parser default: dest -> dotted config key, one dict per subcommand


def key_flag(p, flag: str, key: str, *old: str, **kwargs) -> argparse.Action:
    """A flag that sets the dotted config ``key`` (default None: not given); kwargs and
    ``old`` spellings as :func:`renamed`."""
    kwargs.setdefault("default", None)
    action = renamed(p, flag, *old, dest=kwargs.pop("dest", key.replace(".", "_")), **kwargs)
    keys = p.get_default(_KEYS)
    if keys is None:
        keys = {}
        p.set_defaults(**{_KEYS: keys})
    keys[action.dest] = key
    return action


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """Dotted key -> value of every config flag given on the command line."""
    return {key: value for dest, key in (getattr(args, _KEYS, None) or {}).items()
            if (value := getattr(args, dest, None)) is not None}


def add_stage_options(p: argparse.ArgumentParser, section: str,
                      force: str = "redo even if up to date") -> None:
    """``--config``, ``--set`` and ``--force``: what every stage command takes."""
    p.add_argument("--config", metavar="FILE",
                   help=f"YAML/TOML file: a pipeline config (its {section} section is read) "
                        f"or the bare {section} section")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help=f"override a {section} key, dotted if nested (KEY or {section}.KEY "
                        "as in `corpusfit run --set`); repeatable; flags win over it")
    p.add_argument("--force", action="store_true", help=force)


def stage_config(args: argparse.Namespace, section: str) -> Any:
    """The stage's config from ``--config``, then ``--set``, then the flags, validated."""
    from corpusfit.config import load_section

    return load_section(section, getattr(args, "config", None), getattr(args, "set", None),
                        flag_values(args))
