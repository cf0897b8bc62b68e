"""Record types of the data layer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One corpus passage."""

    id: str
    text: str
    title: str = ""

    def full_text(self, sep: str = " ") -> str:
        """``title + sep + text`` (BEIR convention), without a dangling separator."""
        if self.title and self.text:
            return f"{self.title}{sep}{self.text}"
        return self.title or self.text


@dataclass(frozen=True)
class Query:
    """One query; ``meta`` carries extra fields (e.g. synthetic query type)."""

    id: str
    text: str
    meta: dict = field(default_factory=dict, compare=False, hash=False)


Qrels = dict[str, dict[str, int]]
"""query id -> document id -> relevance grade."""
