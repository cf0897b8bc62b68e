"""The pipeline's one configuration file: typed, validated once, with dotted overrides.

The root model composes the stages' own config classes (their defaults live
there, in one place). Every model forbids unknown keys, so a typo is an error
naming the dotted key instead of a silently ignored option. Relative paths are
relative to the working directory, like on the command line.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from corpusfit.errors import ConfigError, describe_validation
from corpusfit.masking import mask_secrets
from corpusfit.reading import exists, read_text
from corpusfit.yamlfile import load_yaml

# Section name -> (module, class) of the stage config it holds, in pipeline order.
STAGE_SECTIONS: dict[str, tuple[str, str]] = {
    "ingest": ("corpusfit.data.ingest", "IngestConfig"),
    "generate": ("corpusfit.generate.config", "GenerateConfig"),
    "mine": ("corpusfit.retrieve.mine", "MineConfig"),
    "label": ("corpusfit.teach.config", "LabelConfig"),
    "train": ("corpusfit.train.config", "TrainConfig"),
    "evaluate": ("corpusfit.evaluate.stage", "EvaluateConfig"),
}


class RootSettings(BaseModel):
    """Top-level keys: what to specialize and where to write."""

    model_config = ConfigDict(extra="forbid")

    corpus: Path = Field(
        description="the corpus to specialize on: a BEIR folder or corpus.jsonl, a TSV "
                    "(id, text[, title]) or a folder of documents (.txt/.md; .html/.pdf/.docx... "
                    "with corpusfit[docs]); documents longer than the student reads are split "
                    "into passages (ingest.chunk)")
    test_data: Path | None = Field(
        default=None,
        description="BEIR folder with queries.jsonl + qrels/ for the final evaluation; "
                    "default: the corpus itself when it is a BEIR folder with qrels")
    run_dir: Path | None = Field(
        default=None,
        description="where every stage writes (default: runs/<name of this config file>)")
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="extra training arms on the same lists, as overrides of the train "
                    "section, e.g. {infonce: {objective: {infonce: 1.0}}}; each is "
                    "trained into its own folder and evaluated next to the main model")

    @field_validator("corpus")
    @classmethod
    def _corpus_exists(cls, v: Path) -> Path:
        try:
            if not v.exists():
                raise ValueError(f"corpus not found: {v}")
            if not (v.is_dir() or v.is_file()):  # a FIFO or /dev/zero would be read forever
                raise ValueError(f"corpus {v} is neither a regular file nor a folder")
        except OSError as e:  # e.g. a name too long for the file system
            raise ValueError(f"corpus {v}: {e.strerror}") from None
        return v

    @field_validator("run_dir")
    @classmethod
    def _run_dir_is_a_folder(cls, v: Path | None) -> Path | None:
        try:
            if v is not None and v.exists() and not v.is_dir():
                raise ValueError(f"{v} exists and is not a folder")
        except OSError as e:
            raise ValueError(f"run_dir {v}: {e.strerror}") from None
        return v

    @field_validator("test_data")
    @classmethod
    def _test_data_is_beir(cls, v: Path | None) -> Path | None:
        try:
            if v is not None and not (v / "qrels").is_dir():
                raise ValueError(f"{v} is not a BEIR folder with a qrels/ subfolder")
        except OSError as e:
            raise ValueError(f"test_data {v}: {e.strerror}") from None
        return v

    @field_validator("variants")
    @classmethod
    def _variant_names(cls, v: dict) -> dict:
        for name in v:
            if not name.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"variant name {name!r} must be letters, digits, - or _")
        return v

    def evaluation_data(self) -> Path | None:
        """The BEIR folder used for the final evaluation, if there is one."""
        if self.test_data is not None:
            return self.test_data
        if self.corpus.is_dir() and (self.corpus / "qrels").is_dir():
            return self.corpus
        return None


def stage_config_classes() -> dict[str, type[BaseModel]]:
    """The stage config classes, in pipeline order.

    Imported lazily (stage modules import this one), but never optional: a stage
    whose config fails to import is an error here, not a silently missing section.
    """
    return {section: getattr(importlib.import_module(module_name), class_name)
            for section, (module_name, class_name) in STAGE_SECTIONS.items()}


def _build_root() -> type[RootSettings]:
    fields = {name: (cls, Field(default_factory=cls, description=(cls.__doc__ or "").strip()
                                .split("\n")[0]))
              for name, cls in stage_config_classes().items()}
    return create_model("PipelineConfig", __base__=RootSettings, **fields)


_ROOT: type[RootSettings] | None = None


def pipeline_config_class() -> type[RootSettings]:
    """The root model: :class:`RootSettings` plus one section per stage config class."""
    global _ROOT
    if _ROOT is None:
        _ROOT = _build_root()
    return _ROOT


def _format_errors(source: str, err: ValidationError, data: Any = None) -> str:
    return f"{source}: {describe_validation(err, data=data)}"


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


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Set dotted keys in a nested dict (in place); validation later rejects unknown keys."""
    for item in overrides:
        parts, value = parse_override(item)
        node = data
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(f"--set {item!r}: '{where}' is a value, not a section")
            node = child
        node[parts[-1]] = value
    return data


def read_yaml(path: str | Path) -> dict:
    """The raw mapping of a YAML config file; syntax errors, duplicate keys, deep nesting
    and alias bombs (:mod:`corpusfit.yamlfile`) name file and line."""
    path = Path(path)
    if not exists(path):
        raise ConfigError(f"config file not found: {path}")
    try:
        data = load_yaml(read_text(path, "config file"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(e, 'problem', e)})") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return data


def validate_config(data: dict, source: str = "config") -> RootSettings:
    """Validate a raw mapping once; any problem is one ConfigError naming the keys."""
    try:
        return pipeline_config_class().model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_errors(source, e, data)) from None


def load_config(path: str | Path | None, overrides: list[str] | None = None,
                base: dict | None = None) -> RootSettings:
    """Read YAML (if any), apply ``--set`` overrides, validate."""
    data = dict(base or {})
    if path is not None:
        data.update(read_yaml(path))
    apply_overrides(data, list(overrides or []))
    source = str(path) if path else "config"
    config = validate_config(data, source)
    for name in config.variants:
        try:
            variant_train_config(config, name)  # unknown keys in a variant fail now, not later
        except ConfigError as e:
            raise ConfigError(f"{source}: {e}") from None
    return config


def section_of(config: RootSettings, name: str) -> BaseModel:
    """A stage's section of the config."""
    return getattr(config, name)


def variant_train_config(config: RootSettings, name: str) -> BaseModel:
    """The train section with one variant's overrides merged in, validated.

    Nested config sections merge key by key; any other value (including a dict such
    as ``objective``) is replaced whole, so ``{objective: {infonce: 1.0}}`` means
    InfoNCE alone rather than InfoNCE added to the default objective.
    """
    train = config.train  # type: ignore[attr-defined]
    merged = _merge_model(type(train), train.model_dump(mode="json"), config.variants[name])
    try:
        return type(train).model_validate(merged)
    except ValidationError as e:
        raise ConfigError(_format_errors(f"variants.{name}", e, merged)) from None


def _merge_model(model: type[BaseModel], base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        field = model.model_fields.get(key)
        nested = _nested_model(field.annotation) if field else None
        if nested is not None and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_model(nested, out[key], value)
        else:
            out[key] = value
    return out


def dump_config(config: RootSettings) -> str:
    """The resolved config as YAML (what the run directory keeps); secrets masked."""
    return yaml.safe_dump(mask_secrets(config.model_dump(mode="json")), sort_keys=False,
                          allow_unicode=True)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation,
                                                                   BaseModel) else None
