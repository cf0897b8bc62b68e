"""Walking the config classes: shared by the finite-float and strict-int tests."""

from __future__ import annotations

import typing

from pydantic import BaseModel


def models_in(ann: object) -> list[type[BaseModel]]:
    """Config classes a field holds directly (through unions and Annotated)."""
    if isinstance(ann, type):
        return [ann] if issubclass(ann, BaseModel) else []
    if typing.get_origin(ann) in (list, dict):
        return []
    return [m for arg in typing.get_args(ann) for m in models_in(arg)]
