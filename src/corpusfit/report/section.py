"""One block of the report: a heading with text, an optional table and figures.

Plain data, its own module so the section builders (:mod:`corpusfit.report.sections`,
``headroom``, ``labelfree``) can all make one without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    heading: str
    text: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (stem, caption)
