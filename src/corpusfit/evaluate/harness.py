"""Build runs for retriever specs over a BEIR collection.

A retriever spec is one of:
  ``bm25``                      BM25 over ``title + " " + text``;
  ``rrf:A+B[+C]``               reciprocal rank fusion of other specs;
  a path to a TREC run file     read as is;
  a model short name, folder or hub id   dense retrieval with exact search.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from corpusfit.data.readers import BeirData
from corpusfit.errors import CorpusfitError
from corpusfit.retrieve.fusion import rrf
from corpusfit.retrieve.runs import Run, read_trec_run

logger = logging.getLogger(__name__)


@dataclass
class HarnessOptions:
    depth: int = 1000
    rrf_k: int = 60
    cache_dir: str | None = None
    title_sep: str = " "
    batch_tokens: int = 16384
    show_progress: bool = True


@dataclass
class Harness:
    """Computes and memoizes runs for one collection."""

    data: BeirData
    options: HarnessOptions = field(default_factory=HarnessOptions)
    _runs: dict[str, Run] = field(default_factory=dict)
    _doc_emb: dict = field(default_factory=dict)

    def run(self, spec: str) -> Run:
        if spec not in self._runs:
            self._runs[spec] = self._build(spec)
        return self._runs[spec]

    def _build(self, spec: str) -> Run:
        if spec.startswith("rrf:"):
            parts = [p for p in spec[4:].split("+") if p]
            if len(parts) < 2:
                raise CorpusfitError(f"fusion '{spec}' needs at least two retrievers, "
                                     "e.g. rrf:bm25+minilm")
            return rrf([self.run(p) for p in parts], k=self.options.rrf_k, depth=self.options.depth)
        if spec == "bm25":
            return self._bm25()
        path = Path(spec)
        if path.is_file():
            logger.info("reading run file %s", path)
            return read_trec_run(path)
        return self._dense(spec)

    def _doc_texts(self) -> tuple[list[str], list[str]]:
        ids = list(self.data.corpus)
        sep = self.options.title_sep
        return ids, [self.data.corpus[d].full_text(sep) for d in ids]

    def _bm25(self) -> Run:
        from corpusfit.retrieve.bm25 import BM25Index

        ids, texts = self._doc_texts()
        index = BM25Index(ids, texts)
        qids = list(self.data.queries)
        return index.run(qids, [self.data.queries[q].text for q in qids], k=self.options.depth)

    def _dense(self, spec: str) -> Run:
        from corpusfit.retrieve.encoder import DenseEncoder
        from corpusfit.retrieve.index import DenseIndex

        opts = self.options
        q_enc, p_enc = DenseEncoder.load_pair(spec)
        ids, texts = self._doc_texts()
        doc_emb = p_enc.encode(texts, "passage", batch_tokens=opts.batch_tokens,
                               cache_dir=opts.cache_dir, show_progress=opts.show_progress)
        qids = list(self.data.queries)
        q_emb = q_enc.encode([self.data.queries[q].text for q in qids], "query",
                             batch_tokens=opts.batch_tokens, cache_dir=opts.cache_dir,
                             show_progress=opts.show_progress)
        return DenseIndex(ids, doc_emb).run(qids, q_emb, k=opts.depth)
