"""The ingest stage: normalize a corpus, find near-duplicates, hold out and sample passages.

Documents longer than the student reads are first split into passages
(:mod:`corpusfit.data.chunking`); every later stage works on passages.

Outputs (in ``out_dir``): ``corpus.jsonl`` (BEIR records with normalized whitespace;
the passages of a split document also carry ``doc_id``, ``position`` and ``headings``),
``duplicates.jsonl`` (``{"_id", "duplicate_of"}``), ``heldout.txt`` and ``sampled.txt``
(one id per line; the passages the generate stage writes queries for).
"""

from __future__ import annotations

import logging
import random
import re
import unicodedata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from corpusfit.data import incremental
from corpusfit.data.chunking import ChunkConfig, ChunkedCorpus, PassageTokens, chunk_corpus
from corpusfit.data.ids import read_id_file
from corpusfit.data.readers import read_corpus
from corpusfit.data.schema import Document
from corpusfit.errors import DataError
from corpusfit.numbers import FiniteFloat
from corpusfit.workspace import write_jsonl, write_text

logger = logging.getLogger(__name__)

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


class IngestConfig(BaseModel):
    """Settings of the ingest stage; these defaults are the only ones."""

    model_config = ConfigDict(extra="forbid")

    # Strict: YAML reads `yes` as true, which a lax int would take as 1 passage.
    sample: StrictInt | None = Field(None, ge=1, description="passages sampled; None = all")
    heldout_fraction: FiniteFloat = Field(0.0, ge=0.0, lt=1.0,
                                          description="share of passages held out")
    heldout_file: str | None = Field(None, description="file of held-out ids, one per line")
    dedup: bool = Field(True, description="passages contained in another (case, accents and "
                        "punctuation ignored) go to duplicates.jsonl; mining never retrieves "
                        "them")
    seed: StrictInt = Field(13, description="seed of the held-out split and the sample")
    chunk: ChunkConfig = Field(default_factory=ChunkConfig,
                               description="how documents become passages")

    @model_validator(mode="after")
    def _one_heldout_source(self) -> IngestConfig:
        if self.heldout_file and self.heldout_fraction:
            raise ValueError("give heldout_file or heldout_fraction, not both")
        return self


def normalize_text(text: str) -> str:
    """Whitespace-normalized text kept in the corpus (NFC, single spaces)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def dedup_key(text: str) -> str:
    """Aggressive normalization for duplicate detection: case, accents and punctuation gone."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", folded).strip()


def find_near_duplicates(docs: dict[str, Document]) -> dict[str, str]:
    """Map duplicate id -> id of the passage that contains it.

    Passages are sorted by normalized text; a passage whose normalized text is
    contained in its successor's is a duplicate of it (the longer one is kept).
    Sorting makes exact copies and prefixes neighbours, which is the rule of the
    paper's released code; it is linear after the sort.
    """
    keyed = sorted((dedup_key(d.full_text()), doc_id) for doc_id, d in docs.items())
    keyed = [(k, i) for k, i in keyed if k]
    duplicates: dict[str, str] = {}
    for (key, doc_id), (next_key, next_id) in zip(keyed, keyed[1:]):
        if key in next_key:
            duplicates[doc_id] = next_id
    # Point every duplicate at the passage finally kept (chains a ⊂ b ⊂ c -> c).
    for doc_id, target in duplicates.items():
        while target in duplicates:
            target = duplicates[target]
        duplicates[doc_id] = target
    return duplicates


def choose_heldout(config: IngestConfig, docs: dict[str, Document],
                   document_of: dict[str, str] | None = None) -> list[str]:
    """Held-out passage ids from the file or a seeded fraction of the documents.

    ``document_of`` maps passage -> document for a split corpus: a fraction then holds
    out whole documents, and a document id in the file holds out all its passages.
    """
    document_of = document_of or {i: i for i in docs}
    passages_of: dict[str, list[str]] = {}
    for pid, did in document_of.items():
        passages_of.setdefault(did, []).append(pid)
    if config.heldout_file:
        ids = read_id_file(config.heldout_file, set(docs) | set(passages_of), comments=True,
                           what="held-out id file")
        return sorted({p for i in ids for p in ([i] if i in docs else passages_of[i])})
    if not config.heldout_fraction:
        return []
    doc_ids = sorted(passages_of)
    random.Random(f"heldout:{config.seed}").shuffle(doc_ids)
    held = doc_ids[: round(config.heldout_fraction * len(doc_ids))]
    return sorted(p for d in held for p in passages_of[d])


def sample_passages(config: IngestConfig, eligible: list[str]) -> list[str]:
    """A seeded shuffle of the eligible ids, cut to ``sample``.

    The whole list is shuffled first so that a larger sample with the same seed
    extends a smaller one (rerunning with a bigger --limit reuses earlier work).
    """
    order = sorted(eligible)
    random.Random(f"sample:{config.seed}").shuffle(order)
    return order if config.sample is None else order[: config.sample]


def _summary(docs, duplicates, empty, heldout, sampled) -> dict:
    return {"documents": len(docs), "duplicates": len(duplicates), "empty": len(empty),
            "heldout": len(heldout), "sampled": len(sampled)}


def _records(docs: dict[str, Document], chunked: ChunkedCorpus):
    for d in docs.values():
        rec = {"_id": d.id, "title": d.title, "text": d.text}
        if chunked.counts["chunked"]:
            where = chunked.origin[d.id]
            rec.update(doc_id=where.doc_id, position=where.position, headings=where.headings)
        yield rec


def ingest_corpus(config: IngestConfig, corpus_path: str | Path, out_dir: str | Path,
                  tokens: PassageTokens | None = None) -> dict:
    """Write the ingest outputs into ``out_dir``; returns the counts.

    ``tokens`` (the student's tokenizer and passage length) sizes the passages that
    documents are split into; without it documents stay whole. The ingest stage
    (:mod:`corpusfit.stages.ingest`) calls this when its folder is not up to date.
    """
    out = Path(out_dir)
    read = read_corpus(corpus_path)
    chunked = chunk_corpus(read.docs, tokens, config.chunk, read.from_files)
    docs = {i: Document(i, normalize_text(d.text), normalize_text(d.title))
            for i, d in chunked.passages.items()}
    empty = sorted(i for i, d in docs.items() if not d.full_text())
    duplicates = find_near_duplicates(docs) if config.dedup else {}
    prev = incremental.previous(out, config)  # kept ids when only the corpus changed
    heldout = incremental.stable_heldout(config, docs, prev)
    if heldout is None:
        heldout = choose_heldout(config, docs, chunked.document_of())
    excluded = set(duplicates) | set(empty) | set(heldout)
    eligible = [i for i in docs if i not in excluded]
    sampled = incremental.stable_sample(config, eligible, prev)
    sampled = sample_passages(config, eligible) if sampled is None else sampled
    if not sampled:
        raise DataError(corpus_path, None, f"no passage left to sample ({len(empty)} empty, "
                                           f"{len(duplicates)} duplicates, {len(heldout)} "
                                           "held out)")
    write_jsonl(out / "corpus.jsonl", _records(docs, chunked))
    write_jsonl(out / "duplicates.jsonl",
                ({"_id": i, "duplicate_of": t} for i, t in sorted(duplicates.items())))
    write_text(out / "heldout.txt", "".join(f"{i}\n" for i in heldout))
    write_text(out / "sampled.txt", "".join(f"{i}\n" for i in sampled))
    counts = {**_summary(read.docs, duplicates, empty, heldout, sampled), **chunked.counts,
              **(read.folder.counts() if read.folder is not None else {}),
              **incremental.record(out, config, docs, heldout, sampled, len(eligible), prev)}
    logger.info("ingest: %(documents)d documents -> %(passages)d passages, %(duplicates)d "
                "near-duplicates, %(heldout)d held out, %(sampled)d sampled", counts)
    if counts["over_max_length"]:
        logger.warning("ingest: %d passages are longer than the student's %d tokens (the "
                       "student reads only their start; ingest.chunk.mode=always splits them)",
                       counts["over_max_length"], counts["max_length"])
    return counts
