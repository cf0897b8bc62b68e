"""Numbers that must be finite: one pydantic type for every float in configs and artifacts.

``json.loads`` and YAML accept ``NaN``/``Infinity`` (``.nan``/``.inf``) and pydantic's
``float`` lets them through; one such value (a learning rate, a loss weight, a teacher
score) poisons a whole model without any error. Every float field uses
:data:`FiniteFloat` so the value is rejected where it is read, with its key or line.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AllowInfNan

FiniteFloat = Annotated[float, AllowInfNan(False)]


def first_non_finite(values) -> int | None:
    """Index of the first NaN or infinite value in ``values``, or None."""
    for i, v in enumerate(values):
        if not math.isfinite(v):
            return i
    return None
