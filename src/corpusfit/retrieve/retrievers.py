"""The one retrieval builder: runs of retriever specs over a set of documents and queries.

Mining (synthetic queries over the corpus minus held-out passages) and evaluation
(test queries over a BEIR corpus) both build their runs here. A spec is one of:
  ``bm25``                      BM25 over ``title + " " + text``;
  ``rrf:A+B[+C]``               reciprocal rank fusion of other specs;
  a path to a TREC run file     read as is;
  a model short name, folder or hub id   dense retrieval with exact search.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from corpusfit.errors import CorpusfitError
from corpusfit.retrieve.fusion import rrf
from corpusfit.retrieve.settings import EncoderOptions, RetrievalSettings
from corpusfit.retrieve.trec import TrecRun, read_trec_run

logger = logging.getLogger(__name__)


@dataclass
class Retrievers:
    """Computes and memoizes runs of specs for one set of documents and queries."""

    doc_ids: list[str]
    doc_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    settings: RetrievalSettings = field(default_factory=RetrievalSettings)
    _runs: dict[str, TrecRun] = field(default_factory=dict)

    def run(self, spec: str) -> TrecRun:
        if spec not in self._runs:
            self._runs[spec] = self._build(spec)
        return self._runs[spec]

    def _build(self, spec: str) -> TrecRun:
        if spec.startswith("rrf:"):
            parts = [p for p in spec[4:].split("+") if p]
            if len(parts) < 2:
                raise CorpusfitError(f"fusion '{spec}' needs at least two retrievers, "
                                     "e.g. rrf:bm25+minilm")
            return rrf([self.run(p) for p in parts], k=self.settings.rrf_k,
                       depth=self.settings.depth)
        if spec == "bm25":
            from corpusfit.retrieve.bm25 import BM25Index

            s = self.settings
            index = BM25Index(self.doc_ids, self.doc_texts, language=s.bm25_language,
                              stem=s.bm25_stem)
            return index.run(self.query_ids, self.query_texts, k=self.settings.depth)
        path = Path(spec)
        if path.is_file():
            logger.info("reading run file %s", path)
            return read_trec_run(path)
        return self._dense(spec)

    def _dense(self, spec: str) -> TrecRun:
        from corpusfit.retrieve.encoder import DenseEncoder
        from corpusfit.retrieve.index import DenseIndex

        s = self.settings
        enc = DenseEncoder.load(spec, EncoderOptions(trust_remote_code=s.trust_remote_code),
                                precision=s.precision)
        doc_emb = enc.encode(self.doc_texts, "passage", batch_tokens=s.batch_tokens,
                             cache_dir=s.cache_dir, show_progress=s.show_progress,
                             devices=s.encode_devices)
        q_emb = enc.encode(self.query_texts, "query", batch_tokens=s.batch_tokens,
                           cache_dir=s.cache_dir, show_progress=s.show_progress,
                           devices=s.encode_devices)
        index = DenseIndex(self.doc_ids, enc.for_search(doc_emb, "passage"))
        return index.run(self.query_ids, enc.for_search(q_emb, "query"), k=s.depth)
