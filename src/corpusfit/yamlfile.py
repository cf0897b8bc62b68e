"""Config files read with bounds, and dotted ``KEY=VALUE`` overrides of their mappings.

YAML is read with no duplicate keys, limited nesting and limited alias expansion:

``yaml.safe_load`` lets a repeated key silently replace the first, recurses once per
nesting level (5,000 levels: RecursionError) and builds aliases by reference, so a
"billion laughs" file loads small and explodes later, when the config is validated,
copied or dumped (60 s and 2.9 GB in a probe). Every problem here is a
``yaml.MarkedYAMLError`` with the line, like a syntax error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from corpusfit.errors import ConfigError
from corpusfit.reading import exists, read_text

MAX_DEPTH = 64  # a config nests a handful of levels; this leaves room for options
MAX_NODES = 100_000  # values after every alias is expanded


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root: Node) -> None:
    """Size and depth of the document with every alias expanded, counted once per node
    (so a bomb is measured without building it); a recursive alias is an error too."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    active: set[int] = set()  # entered, not finished: the current path
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if not done:
            if key in size:
                continue
            if key in active:
                raise ComposerError(None, None, "a recursive alias (a value that contains "
                                    "itself)", node.start_mark)
            active.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node))
            continue
        active.discard(key)
        kids = _children(node)
        size[key] = 1 + sum(size[id(c)] for c in kids)
        depth[key] = 1 + max((depth[id(c)] for c in kids), default=0)
        if size[key] > MAX_NODES:
            raise ComposerError(None, None, f"more than {MAX_NODES} values once aliases are "
                                "expanded (an alias bomb?)", node.start_mark)
        if depth[key] > MAX_DEPTH:
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels once "
                                "aliases are expanded", node.start_mark)


class BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate keys, deep nesting and alias bombs."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        # The composer recurses per level: stop before Python's recursion limit does.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, MappingNode):
            seen: dict[tuple[str, str], Node] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag.endswith(":merge"):
                    continue  # merge keys (<<) override on purpose
                k = (key_node.tag, key_node.value)
                if k in seen:
                    raise ConstructorError(
                        "while reading a mapping", node.start_mark,
                        f"duplicate key '{key_node.value}' (first on line "
                        f"{seen[k].start_mark.line + 1})", key_node.start_mark)
                seen[k] = key_node
        return super().construct_mapping(node, deep)


def load_yaml(text: str) -> Any:
    """One YAML document, safely and within bounds; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 (a SafeLoader subclass)


def parse_override(item: str) -> tuple[list[str], Any]:
    """``train.lr=1e-4`` -> (["train", "lr"], value parsed as YAML)."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. train.lr=1e-4")
    key, raw = item.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not all(parts):
        raise ConfigError(f"--set {item!r}: empty part in key {key!r}")
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {item!r}: value is not valid YAML ({e})") from e
    return parts, value


def set_key(data: dict, parts: list[str], value: Any, item: str) -> None:
    """Set ``data[parts[0]][parts[1]]... = value`` (in place), making sections as needed."""
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise ConfigError(f"{item}: '{where}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Set dotted keys in a nested dict (in place); validation later rejects unknown keys."""
    for item in overrides:
        parts, value = parse_override(item)
        set_key(data, parts, value, f"--set {item!r}")
    return data


def read_yaml(path: str | Path) -> dict:
    """The raw mapping of a YAML (or, for a ``.toml`` name, TOML) config file; syntax
    errors, duplicate keys, deep nesting and alias bombs (:mod:`corpusfit.yamlfile`) name
    file and line."""
    import tomllib

    path = Path(path)
    if not exists(path):
        raise ConfigError(f"config file not found: {path}")
    text = read_text(path, "config file")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else load_yaml(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML ({e})") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(e, 'problem', e)})") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return data
