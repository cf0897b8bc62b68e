"""LLM backends behind one small interface (see :mod:`corpusfit.generate.backends.base`)."""

from corpusfit.generate.backends.base import (
    REGISTRY,
    Backend,
    Completion,
    Request,
    create_backend,
)

__all__ = ["REGISTRY", "Backend", "Completion", "Request", "create_backend"]
