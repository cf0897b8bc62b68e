"""Runs of retriever specs over a BEIR collection (see :mod:`corpusfit.retrieve.retrievers`).

A collection whose documents are split into passages (``passages`` given, see
:func:`build_harness`) is retrieved passage by passage and scored document by document
(:mod:`corpusfit.evaluate.documents`); BM25 may read whole documents instead.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from corpusfit.data.chunking import ChunkConfig, ChunkedCorpus, chunk_corpus
from corpusfit.data.ingest import normalize_text
from corpusfit.data.readers import BeirData
from corpusfit.evaluate.documents import Aggregate, aggregate_run, passage_depth
from corpusfit.retrieve.retrievers import Retrievers
from corpusfit.retrieve.settings import RetrievalSettings
from corpusfit.retrieve.specs import spec_name
from corpusfit.retrieve.trec import TrecRun

logger = logging.getLogger(__name__)

Bm25Unit = Literal["document", "passage"]

__all__ = ["Harness", "build_harness", "spec_name"]


class Harness(Retrievers):
    """Computes and memoizes runs for one collection: its corpus and its judged queries.

    Use it as ``Harness(load_beir(folder), RetrievalSettings(depth=100)).run("bm25")``: a
    run (query id -> ranked doc ids and scores) of any retriever spec (see
    :mod:`corpusfit.retrieve.specs`), computed once per spec.

    Args:
        data: the collection.
        settings: how runs are built (depth, models, caches).
        passages: the collection's documents split into passages; runs are then
            document runs made from passage runs with ``aggregate``.
        aggregate: how a document scores from its passages (``maxp``, ``firstp``, ``sum``).
        bm25_unit: with passages, whether BM25 reads whole documents or passages.
    """

    def __init__(self, data: BeirData, settings: RetrievalSettings | None = None,
                 passages: ChunkedCorpus | None = None, aggregate: Aggregate = "maxp",
                 bm25_unit: Bm25Unit = "passage"):
        settings = settings or RetrievalSettings()
        ids = list(data.corpus)
        qids = list(data.queries)
        qtexts = [data.queries[q].text for q in qids]
        super().__init__(ids, [data.corpus[d].full_text() for d in ids],
                         qids, qtexts, settings)
        self.data = data
        self.aggregate, self.bm25_unit = aggregate, bm25_unit
        self.chunked = passages if passages is not None and passages.counts["chunked"] \
            else None
        if self.chunked is not None:
            pids = list(self.chunked.passages)
            texts = [normalize_text(self.chunked.passages[p].full_text())
                     for p in pids]
            depth = passage_depth(settings.depth, len(pids), len(ids))
            self.passage_runs = Retrievers(pids, texts, qids, qtexts,
                                           settings.model_copy(update={"depth": depth}))

    def _build(self, spec: str) -> TrecRun:
        whole = (self.chunked is None or spec.startswith("rrf:") or Path(spec).is_file()
                 or (spec == "bm25" and self.bm25_unit == "document"))
        if whole:
            return super()._build(spec)
        return aggregate_run(self.passage_runs.run(spec), self.chunked.origin, self.aggregate,
                             self.settings.depth)

    def describe(self) -> dict:
        """What the runs are over (for metrics.json)."""
        if self.chunked is None:
            return {"chunked": False}
        return {"chunked": True, "documents": len(self.doc_ids),
                "passages": len(self.passage_runs.doc_ids), "aggregate": self.aggregate,
                "bm25_unit": self.bm25_unit, **{k: self.chunked.counts[k] for k in
                                                 ("documents_split", "max_length",
                                                  "tokenizer")}}


def first_dense(specs: list[str]) -> str:
    """The first model among retriever specs (what sizes the passages), else minilm."""
    for spec in specs:
        parts = spec[4:].split("+") if spec.startswith("rrf:") else [spec]
        for part in parts:
            if part != "bm25" and not Path(part).is_file():
                return part
    return "minilm"


def build_harness(data: BeirData, settings: RetrievalSettings, chunk: ChunkConfig | None,
                  student: str, aggregate: Aggregate = "maxp",
                  bm25_unit: Bm25Unit = "passage") -> Harness:
    """A Harness over ``data``, its documents split as ``chunk`` says with ``student``'s
    tokens (as ingest splits a corpus; ``chunk=None`` keeps documents whole)."""
    passages = None
    if chunk is not None and chunk.mode != "never":
        from corpusfit.retrieve.passage_tokens import passage_tokens

        tokens = passage_tokens(student, settings.trust_remote_code)
        passages = chunk_corpus(data.corpus, tokens, chunk)
        if passages.counts["chunked"]:
            logger.info("evaluate: %d documents as %d passages (%s per document)",
                        len(data.corpus), len(passages.passages), aggregate)
    return Harness(data, settings, passages, aggregate, bm25_unit)
