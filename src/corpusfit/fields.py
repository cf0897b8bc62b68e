"""Field markers the config models share.

A *runtime-only* field changes how fast or where work runs (threads, batch sizes,
devices, caches, retries, timeouts, secrets), never what it produces. It is marked on
the field itself, and every fingerprint or cache key is the model's dump without
those fields (:func:`results_dump`), so no list of names is kept by hand next to the
model: a stage's fingerprint is its recorded config through :func:`results_dump`
(:meth:`corpusfit.stages.base.Stage.fingerprint_config`), a teacher's score-cache key
its identity the same way.

Use it in a config model as ``n_threads: int | None = runtime_only(None, ge=1)``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

RUNTIME_ONLY = "runtime_only"
ADDED = "omitted_at_default"


def runtime_only(default: Any = ..., **kwargs: Any) -> Any:
    """``Field(...)`` for a setting that never changes results (left out of fingerprints)."""
    return Field(default, json_schema_extra={RUNTIME_ONLY: True}, **kwargs)


def added_field(default: Any = ..., **kwargs: Any) -> Any:
    """``Field(...)`` for a setting added after 0.1.0 whose default does what earlier
    versions did: fingerprints leave it out while it holds that default, so run
    directories of earlier versions stay finished."""
    extra = {**(kwargs.pop("json_schema_extra", None) or {}), ADDED: True}
    return Field(default, json_schema_extra=extra, **kwargs)


def _at_added_default(field: FieldInfo, value: Any) -> bool:
    extra = field.json_schema_extra
    if not (isinstance(extra, dict) and extra.get(ADDED)):
        return False
    return value == field.get_default(call_default_factory=True)


def is_runtime_only(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get(RUNTIME_ONLY))


def runtime_fields(model: type[BaseModel]) -> set[str]:
    """Names of ``model``'s runtime-only fields (not of nested models)."""
    return {name for name, f in model.model_fields.items() if is_runtime_only(f)}


def results_dump(value: Any) -> Any:
    """JSON-able dump of a model without runtime-only fields (nor added fields at their
    default, :func:`added_field`), at every depth.

    Field order and values equal ``model_dump(mode="json", exclude=...)``, so hashes of
    it are stable.
    """
    if isinstance(value, BaseModel):
        return {name: results_dump(getattr(value, name))
                for name, f in type(value).model_fields.items()
                if not is_runtime_only(f) and not _at_added_default(f, getattr(value, name))}
    if isinstance(value, list | tuple):
        return [results_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: results_dump(v) for k, v in value.items()}
    return to_jsonable_python(value)
