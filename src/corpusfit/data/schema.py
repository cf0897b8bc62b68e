"""Record types of the data layer."""

from __future__ import annotations

from dataclasses import dataclass, field

PASSAGE_SEP = " "
"""Between a passage's title and its text, wherever a passage is encoded, scored or shown."""


def passage_text(title: str, text: str) -> str:
    """The text of a passage as every model sees it: ``title + PASSAGE_SEP + text`` (the
    BEIR convention), without a dangling separator when either part is empty.

    >>> passage_text("Wing lift", "lift of a wing")
    'Wing lift lift of a wing'
    """
    return f"{title}{PASSAGE_SEP}{text}" if title and text else title or text


@dataclass(frozen=True)
class Document:
    """One corpus passage: its id, text and (possibly empty) title."""

    id: str
    text: str
    title: str = ""

    def full_text(self) -> str:
        """The passage as models see it (:func:`passage_text`)."""
        return passage_text(self.title, self.text)


@dataclass(frozen=True)
class Query:
    """One query; ``meta`` carries extra fields (e.g. synthetic query type)."""

    id: str
    text: str
    meta: dict = field(default_factory=dict, compare=False, hash=False)


Qrels = dict[str, dict[str, int]]
"""query id -> document id -> relevance grade."""
