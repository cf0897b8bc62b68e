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
from corpusfit.yamlfile import (  # noqa: F401  (re-exported: the config file API)
    apply_overrides,
    parse_override,
    read_yaml,
    set_key,
)

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


def section_data(data: dict, section: str) -> dict:
    """One stage's raw settings from a config file's mapping.

    A pipeline file (``corpus``, ``run_dir`` or stage sections at the top) gives its
    ``section`` ({} when it has none); any other mapping is the bare section itself.
    """
    pipeline_keys = {*RootSettings.model_fields, *STAGE_SECTIONS}
    if section in data:
        value = data[section]
        if not isinstance(value, dict):
            raise ConfigError(f"'{section}' is a value, not a section")
        return dict(value)
    return {} if pipeline_keys & set(data) else dict(data)


def load_section(section: str, path: str | Path | None = None,
                 overrides: list[str] | None = None, values: dict[str, Any] | None = None
                 ) -> BaseModel:
    """One stage's config, built the way every stage command builds it.

    In order: the config file (a pipeline file or a bare section, see
    :func:`section_data`), then ``--set`` overrides (``lr=1e-4``; ``train.lr=1e-4``, the
    pipeline's spelling, works too), then ``values`` (dotted key -> value: the flags), then
    validation against the stage's config class. ``corpusfit run --set train.lr=X`` and
    ``corpusfit train --set lr=X`` build the same ``TrainConfig``.

    Args:
        section: the stage's section name (``ingest`` ... ``evaluate``).
        path: YAML/TOML file, or None for the defaults.
        overrides: ``KEY=VALUE`` texts, values parsed as YAML.
        values: already-typed values by dotted key, applied last.

    Returns:
        The validated config object (e.g. a ``TrainConfig`` for ``train``).
    """
    data = {section: section_data(read_yaml(path), section) if path else {}}
    prefixed = [o if o.strip().startswith(section + ".") else f"{section}.{o.strip()}"
                for o in overrides or []]
    apply_overrides(data, prefixed)
    for key, value in (values or {}).items():
        set_key(data[section], key.split("."), value, key)
    cls = stage_config_classes()[section]
    try:
        return cls.model_validate(data[section])
    except ValidationError as e:
        source = f"{path}: " if path else ""
        raise ConfigError(f"{source}{describe_validation(e, section, data=data[section])}"
                          ) from None


def validate_config(data: dict, source: str = "config") -> RootSettings:
    """Validate a raw mapping once; any problem is one ConfigError naming the keys."""
    try:
        return pipeline_config_class().model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source}: {describe_validation(e, data=data)}") from None


def load_config(path: str | Path | None, overrides: list[str] | None = None,
                base: dict | None = None) -> RootSettings:
    """The pipeline config: the YAML file (if any), then ``--set`` overrides, validated once.

    Args:
        path: a pipeline config file (``corpusfit init`` writes one), or None.
        overrides: ``KEY=VALUE`` texts with dotted keys (``train.lr=1e-4``), values as YAML.
        base: keys under the file's (e.g. a benchmark's shared settings).

    Returns:
        The root model: ``corpus``, ``test_data``, ``run_dir``, ``variants`` and one
        section per stage (``config.train`` is a ``TrainConfig``). Any problem is one
        ``ConfigError`` naming the file and the dotted keys.
    """
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
        raise ConfigError(f"variants.{name}: {describe_validation(e, data=merged)}") from None


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
