"""Runs of retriever specs over a BEIR collection (see :mod:`corpusfit.retrieve.retrievers`)."""

from __future__ import annotations

from corpusfit.data.readers import BeirData
from corpusfit.retrieve.retrievers import Retrievers
from corpusfit.retrieve.settings import RetrievalSettings
from corpusfit.retrieve.specs import spec_name

__all__ = ["Harness", "spec_name"]


class Harness(Retrievers):
    """Computes and memoizes runs for one collection: its corpus and its judged queries.

    Use it as ``Harness(load_beir(folder), RetrievalSettings(depth=100)).run("bm25")``: a
    run (query id -> ranked doc ids and scores) of any retriever spec (see
    :mod:`corpusfit.retrieve.specs`), computed once per spec.
    """

    def __init__(self, data: BeirData, settings: RetrievalSettings | None = None):
        ids = list(data.corpus)
        qids = list(data.queries)
        super().__init__(ids, [data.corpus[d].full_text() for d in ids],
                         qids, [data.queries[q].text for q in qids],
                         settings or RetrievalSettings())
        self.data = data
