"""Runs of retriever specs over a BEIR collection (see :mod:`corpusfit.retrieve.retrievers`)."""

from __future__ import annotations

from corpusfit.data.readers import BeirData
from corpusfit.retrieve.retrievers import Retrievers
from corpusfit.retrieve.settings import RetrievalSettings
from corpusfit.retrieve.specs import spec_name

HarnessOptions = RetrievalSettings
"""The retrieval settings of an evaluation (an alias kept for callers of the old name)."""

__all__ = ["Harness", "HarnessOptions", "spec_name"]


class Harness(Retrievers):
    """Computes and memoizes runs for one collection: its corpus and its judged queries."""

    def __init__(self, data: BeirData, options: RetrievalSettings | None = None):
        options = options or RetrievalSettings()
        ids = list(data.corpus)
        qids = list(data.queries)
        super().__init__(ids, [data.corpus[d].full_text(options.title_sep) for d in ids],
                         qids, [data.queries[q].text for q in qids], options)
        self.data = data

    @property
    def options(self) -> RetrievalSettings:
        return self.settings
