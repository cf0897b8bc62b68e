"""Documents into passages the student reads whole, with semantic-text-splitter.

A passage is measured in the student's own tokens (its Hugging Face ``tokenizers``
tokenizer): title, passage prefix and special tokens included, it fits the student's
passage max length, so nothing the generator and the teacher read is cut away when the
student encodes it. semantic-text-splitter's ``MarkdownSplitter`` cuts at the largest
unit that fits: headings, then blocks and paragraphs, then sentences, then words.

Use::

    tokens = PassageTokens(tokenizer, max_length=256)
    chunked = chunk_corpus(docs, tokens, ChunkConfig(), from_files=True)
    chunked.passages        # passage id -> Document (title = the document's title)
    chunked.origin["d1#2"]  # PassageOrigin(doc_id="d1", position=2, headings=[...])

A document that fits stays one passage under its own id; the passages of a split one
are ``<doc id>#<position>`` (0-based), stable across reruns for one tokenizer and
config. ``mode="auto"`` splits documents read from files (a folder of .md/.txt/PDF/...)
and a record corpus (``corpus.jsonl``, TSV) only when most of its records are longer
than the student reads, so corpora that are already passages stay as they are.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from corpusfit.data.schema import Document
from corpusfit.errors import ConfigError, CorpusfitError

logger = logging.getLogger(__name__)

ChunkMode = Literal["auto", "always", "never"]
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_AUTO_SAMPLE = 2000  # records whose lengths decide "auto" for a record corpus
MIN_ROOM = 16  # tokens a passage keeps for text however long its title is
HEADING_RESERVE = 16  # tokens kept free so that a lone heading can join the next piece


class ChunkConfig(BaseModel):
    """How documents become passages (``ingest.chunk``; the evaluation reuses it)."""

    model_config = ConfigDict(extra="forbid")

    mode: ChunkMode = Field("auto", description="auto: split documents read from files, and "
                            "a corpus.jsonl/TSV only when most records are longer than the "
                            "student reads (a corpus of passages stays as it is); always: "
                            "split every record longer than max_tokens; never: one passage "
                            "per record")
    max_tokens: StrictInt | None = Field(None, ge=MIN_ROOM, description="passage length in the "
                                         "student's tokens (title, prefix and special tokens "
                                         "included); null = the student's passage max length")
    overlap: StrictInt = Field(0, ge=0, description="tokens consecutive passages of one "
                               "document may share")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkConfig:
        if self.max_tokens is not None and self.overlap >= self.max_tokens - MIN_ROOM:
            raise ValueError(f"overlap ({self.overlap}) must be below max_tokens - {MIN_ROOM}")
        return self


@dataclass
class PassageTokens:
    """The student's tokenizer and passage length: how long a passage may be.

    Args:
        tokenizer: a ``tokenizers.Tokenizer`` (truncation and padding are switched off).
        max_length: tokens the student encodes per passage, special tokens included.
        prefix: the student's passage prefix (e.g. ``"passage: "``), counted too.
        name: the model the tokens are of (for manifests).
    """

    tokenizer: Any
    max_length: int
    prefix: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self._fixed = len(self.tokenizer.encode(self.prefix).ids)  # specials + prefix

    def counts(self, texts: list[str]) -> list[int]:
        """Tokens the student would see for each text (uncut)."""
        encoded = self.tokenizer.encode_batch([self.prefix + t for t in texts])
        return [len(e.ids) for e in encoded]

    def room(self, title: str, limit: int | None = None, sep: str = " ") -> int:
        """Tokens left for a passage's text within ``limit`` (default: the max length)
        after special tokens, prefix and ``title + sep``."""
        used = self._fixed + (len(self.tokenizer.encode(title + sep,
                                                         add_special_tokens=False).ids)
                              if title else 0)
        return max(MIN_ROOM, (limit or self.max_length) - used)

    def cut(self, text: str, title: str = "") -> str:
        """The part of ``text`` the student encodes after ``title`` (cut at a token end)."""
        room = self.room(title)
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        if len(enc.ids) <= room:
            return text
        return text[: enc.offsets[room - 1][1]].rstrip()


@dataclass(frozen=True)
class PassageOrigin:
    """Where a passage comes from: its document, position and heading path."""

    doc_id: str
    position: int
    headings: list[str] = field(default_factory=list)


@dataclass
class ChunkedCorpus:
    """Passages (id -> Document), their origins and the counts ingest reports."""

    passages: dict[str, Document]
    origin: dict[str, PassageOrigin]
    counts: dict[str, Any]

    def document_of(self) -> dict[str, str]:
        """Passage id -> document id."""
        return {pid: o.doc_id for pid, o in self.origin.items()}


def heading_path(text: str, offset: int) -> list[str]:
    """The Markdown headings (outermost first) in force at character ``offset``."""
    stack: list[tuple[int, str]] = []
    for m in _HEADING.finditer(text):
        if m.start() > offset:
            break
        level = len(m.group(1))
        stack = [(lv, h) for lv, h in stack if lv < level] + [(level, m.group(2).strip())]
    return [h for _, h in stack]


def _splitter(tokens: PassageTokens, room: int, overlap: int):
    from semantic_text_splitter import MarkdownSplitter

    return MarkdownSplitter.from_huggingface_tokenizer(tokens.tokenizer, room,
                                                       overlap=min(overlap, room // 2))


def _only_headings(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and all(_HEADING.fullmatch(line) for line in lines)


def _join_headings(pieces: list[tuple[int, str]], text: str, tokens: PassageTokens,
                   room: int) -> list[tuple[int, str]]:
    """A piece that is only headings (the splitter leaves a heading alone when its section
    does not fit) goes to the front of the next piece when both fit together."""
    out: list[tuple[int, str]] = []
    carry: tuple[int, str] | None = None
    for start, piece in pieces:
        if carry is not None:
            joined = text[carry[0]: start + len(piece)]
            if tokens.counts([joined])[0] - tokens.counts([""])[0] <= room:
                start, piece = carry[0], joined
            else:
                out.append(carry)
            carry = None
        if _only_headings(piece):
            carry = (start, piece)
        else:
            out.append((start, piece))
    return out + ([carry] if carry is not None else [])


def split_pieces(docs: list[Document], tokens: PassageTokens, overlap: int = 0,
                 max_tokens: int | None = None) -> dict[str, list[tuple[int, str]]]:
    """Document id -> (character offset, text) of its pieces; one piece when it fits.

    Pieces are cut a few tokens short of the room left by the title so that a heading
    the splitter left alone can join the piece after it. Documents with the same room
    are split in one call (semantic-text-splitter works through them in parallel).
    """
    limit = max_tokens or tokens.max_length
    lengths = tokens.counts([d.full_text() for d in docs])
    out: dict[str, list[tuple[int, str]]] = {}
    by_room: dict[int, list[Document]] = {}
    for doc, n in zip(docs, lengths):
        if n <= limit or not doc.text:
            out[doc.id] = [(0, doc.text)]
        else:
            by_room.setdefault(tokens.room(doc.title, max_tokens), []).append(doc)
    for room, group in by_room.items():
        splitter = _splitter(tokens, room - min(HEADING_RESERVE, room // 8), overlap)
        for doc, pieces in zip(group, splitter.chunk_all_indices([d.text for d in group])):
            out[doc.id] = _join_headings(pieces, doc.text, tokens, room)
    return out


def _triples(doc: Document, pieces: list[tuple[int, str]]
             ) -> list[tuple[str, Document, PassageOrigin]]:
    if len(pieces) <= 1:
        return [(doc.id, doc, PassageOrigin(doc.id, 0))]
    return [(f"{doc.id}#{i}", Document(f"{doc.id}#{i}", text, doc.title),
             PassageOrigin(doc.id, i, heading_path(doc.text, start + _lead(text))))
            for i, (start, text) in enumerate(pieces)]


def split_document(doc: Document, tokens: PassageTokens, overlap: int = 0,
                   max_tokens: int | None = None) -> list[tuple[str, Document, PassageOrigin]]:
    """``doc`` as (passage id, passage, origin) triples; one triple when it fits."""
    return _triples(doc, split_pieces([doc], tokens, overlap, max_tokens)[doc.id])


def _lead(piece: str) -> int:
    """Characters of the heading lines a piece starts with (its headings are in force)."""
    end = 0
    for line in piece.splitlines(keepends=True):
        if line.strip() and not _HEADING.fullmatch(line.rstrip("\r\n")):
            break
        end += len(line)
    return max(0, end - 1)


def _share_over(docs: list[Document], tokens: PassageTokens, limit: int) -> float:
    sample = docs if len(docs) <= _AUTO_SAMPLE else \
        random.Random("chunk:auto").sample(docs, _AUTO_SAMPLE)
    lengths = tokens.counts([d.full_text() for d in sample])
    return sum(n > limit for n in lengths) / max(1, len(lengths))


def should_split(mode: ChunkMode, docs: list[Document], tokens: PassageTokens | None,
                 limit: int, from_files: bool) -> bool:
    """Whether this corpus is split into passages under ``mode`` (see module docstring)."""
    if mode == "never" or tokens is None:
        return False
    if mode == "always" or from_files:
        return True
    return _share_over(docs, tokens, limit) > 0.5


def _count_over(passages: dict[str, Document], tokens: PassageTokens | None,
                limit: int) -> int | None:
    if tokens is None:
        return None
    return sum(n > limit for n in tokens.counts([d.full_text() for d in passages.values()]))


def chunk_corpus(docs: dict[str, Document], tokens: PassageTokens | None, config: ChunkConfig,
                 from_files: bool = False) -> ChunkedCorpus:
    """Split ``docs`` into passages as ``config`` says; ``tokens=None`` keeps them whole.

    Raises:
        CorpusfitError: a passage id made for a split document is already a document's id.
    """
    limit = min(config.max_tokens or 10**9, tokens.max_length) if tokens else 0
    if config.mode == "always" and tokens is None:
        raise ConfigError("ingest.chunk.mode is 'always' but no student tokenizer was given")
    split = should_split(config.mode, list(docs.values()), tokens, limit, from_files)
    passages: dict[str, Document] = {}
    origin: dict[str, PassageOrigin] = {}
    n_split = 0
    pieces = split_pieces(list(docs.values()), tokens, config.overlap, limit) if split else {}
    for doc in docs.values():
        triples = _triples(doc, pieces[doc.id]) if split else \
            [(doc.id, doc, PassageOrigin(doc.id, 0))]
        n_split += len(triples) > 1
        for pid, passage, where in triples:
            if pid in passages or (pid != doc.id and pid in docs):
                raise CorpusfitError(f"passage id '{pid}' of document '{doc.id}' is already "
                                     "an id of the corpus")
            passages[pid], origin[pid] = passage, where
    counts = {"chunked": split, "documents_split": n_split, "passages": len(passages),
              "over_max_length": _count_over(passages, tokens, limit),
              "max_length": limit or None, "tokenizer": tokens.name if tokens else None}
    if split:
        logger.info("chunking: %d of %d documents split, %d passages", n_split, len(docs),
                    len(passages))
    return ChunkedCorpus(passages, origin, counts)
