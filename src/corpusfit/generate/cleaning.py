"""Clean raw LLM output into one query, or reject it with a named reason.

Cleaning follows the paper's code (first line, quotes stripped) and adds the
checks small models need: preambles and refusals, copied passage spans,
repetition loops and the shape a query type must have. Every rejection names a
reason from :data:`REASONS` so that the stage can count them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from corpusfit.generate.types import QueryType

REASONS = ("empty", "too_short", "too_long", "copies_passage", "repetition", "preamble",
           "refusal", "off_topic", "copies_example", "wrong_shape", "duplicate", "backend_error")

# A label the model put before the query ("Question: ...") is harmless: it is removed.
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:search\s+)?(?:question|query|claim|statement|title|"
                    r"keywords?|answer|q|a)\s*\d*\s*(?:\*\*)?\s*[:\-–]\s*(?:\*\*)?\s*", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_PREAMBLE = re.compile(
    r"^\s*(?:here(?:'s| is| are)|sure\b|certainly\b|of course\b|okay\b|ok\b|great\b|"
    r"below is|the following|this passage|the passage|in this passage|based on the passage|"
    r"according to the passage|passage\s*:)", re.I)
_REFUSAL = re.compile(
    r"\b(?:i can(?:no|')t|i cannot|i am unable|i'm unable|i'm sorry|i am sorry|sorry,|"
    r"as an ai|i apologi[sz]e|i do not have|i don't have)\b", re.I)
# Talking about the passage instead of its content ("What does this passage describe?").
_META = re.compile(r"\b(?:th(?:is|e) (?:passage|text|statement|article|document|question|claim)|"
                   r"the author|rewritten version)\b", re.I)
_STOP = frozenset(
    "about above after again also been before being between both could does doing down during "
    "each from further have having here into itself just more most other over same should some "
    "such than that their them then there these they this those through under until very what "
    "when where which while whom why will with would your".split())
_QUOTES = "\"'`“”‘’«»*"
# Scripts written without spaces between words (kana, Han, Thai, Lao, Khmer): a run of
# them is read as overlapping character bigrams and counts as half a word per character.
_UNSPACED = "\u0e00-\u0eff\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNSPACED_RUN = re.compile(f"[{_UNSPACED}]+")
_WORD = re.compile(rf"[{_UNSPACED}]+|(?:(?![{_UNSPACED}])\w)+", re.UNICODE)
_QUESTION_END = ("?", "？", "؟")
_SENTENCE_END = (".", "。", "．", "।")

COPY_NGRAM = 10  # a query sharing this many consecutive words with the passage copies it


@dataclass(frozen=True)
class Cleaned:
    """The cleaned query text, or ``None`` and the rejection reason."""

    text: str | None
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.text is not None


def first_line(raw: str) -> str:
    """First non-empty line with bullets, a leading label and surrounding quotes removed."""
    for line in raw.replace("\r", "\n").split("\n"):
        line = _BULLET.sub("", line).strip()
        for _ in range(2):  # labels may sit inside or outside the quotes
            line = _LABEL.sub("", line, count=1).strip().strip(_QUOTES).strip()
        if line:
            return " ".join(line.split())
    return ""


def words(text: str) -> list[str]:
    """Case-folded words; a run of an unspaced script (Chinese, Japanese, Thai...) gives
    its character bigrams (a single character stays itself)."""
    out: list[str] = []
    for w in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        if len(w) > 1 and _UNSPACED_RUN.fullmatch(w):
            out += [w[i:i + 2] for i in range(len(w) - 1)]
        else:
            out.append(w)
    return out


def word_count(text: str) -> int:
    """Words for the length limits: spaced words, plus half a word per character of an
    unspaced script (a Chinese query of 12 characters counts as 6 words)."""
    found = _WORD.findall(unicodedata.normalize("NFKC", text))
    unspaced = sum(len(w) for w in found if _UNSPACED_RUN.fullmatch(w))
    spaced = sum(1 for w in found if not _UNSPACED_RUN.fullmatch(w))
    return spaced + (unspaced + 1) // 2


def longest_copied_span(query_words: list[str], passage_words: list[str], n: int) -> bool:
    """True when ``query_words`` shares ``n`` consecutive words with the passage."""
    if len(query_words) < n:
        return False
    grams = {tuple(passage_words[i:i + n]) for i in range(len(passage_words) - n + 1)}
    return any(tuple(query_words[i:i + n]) in grams for i in range(len(query_words) - n + 1))


def content_words(ws: list[str]) -> set[str]:
    """Words that carry content: 4+ letters and no stop word, or a bigram of an unspaced
    script."""
    return {w for w in ws if (len(w) >= 4 or (len(w) == 2 and _UNSPACED_RUN.fullmatch(w)))
            and w not in _STOP and not w.isdigit()}


def off_topic(text: str, ws: list[str], passage_words: list[str]) -> bool:
    """About the passage as a text, or sharing no content word with it."""
    return bool(_META.search(text)) or not content_words(ws) & set(passage_words)


def copies_example(ws: list[str], passage_words: list[str], example_text: str) -> bool:
    """Mostly words of the few-shot examples that the passage lacks (an example leaked)."""
    foreign = content_words(ws) - set(passage_words)
    leaked = foreign & set(words(example_text))
    return len(leaked) >= 2 and 2 * len(leaked) >= len(content_words(ws))


def is_repetitive(ws: list[str]) -> bool:
    """A loop: a 1-3 word unit repeated 3+ times in a row, or very few distinct words."""
    for size in (1, 2, 3):
        for i in range(len(ws) - 3 * size + 1):
            unit = ws[i:i + size]
            if ws[i + size:i + 2 * size] == unit and ws[i + 2 * size:i + 3 * size] == unit:
                return True
    return len(ws) >= 8 and len(set(ws)) / len(ws) < 0.5


def shape_ok(text: str, qtype: QueryType) -> bool:
    """Whether ``text`` has the form its type asks for."""
    if qtype.shape == "question":
        return text.endswith(_QUESTION_END)
    if qtype.shape == "statement":
        # A complete sentence: outputs cut off by the token limit end mid-word.
        return text.endswith(_SENTENCE_END) and word_count(text) >= 4
    if qtype.shape == "keywords":
        terms = [t.strip() for t in re.split(r"[,，、]", text) if t.strip()]
        # A sentence is not a keyword list: long comma-free text or sentence punctuation.
        return (0 < len(terms) <= 5 and all(word_count(t) <= 5 for t in terms)
                and not text.rstrip().endswith((*_QUESTION_END, "!")))
    if qtype.shape == "title":
        return not text.endswith((*_QUESTION_END, "!")) and text.count(". ") == 0
    return True


def normalize_shape(text: str, qtype: QueryType) -> str:
    """Light fixes that keep the meaning: trim a keyword list to 5 terms, drop a final period."""
    if qtype.shape == "keywords":
        terms = [t.strip().strip(_QUOTES + ".").strip() for t in text.split(",")]
        unique = list(dict.fromkeys(t for t in terms if t))  # small models repeat terms
        return ", ".join(unique[:5])
    if qtype.shape in ("title", "free") and text.endswith(".") and not text.endswith(".."):
        return text[:-1].rstrip()
    return text


def clean_output(raw: str, qtype: QueryType, passage: str, example_text: str = "") -> Cleaned:
    """Clean one raw generation for ``qtype`` about ``passage``.

    ``example_text`` holds the few-shot examples shown in the prompt, to catch
    outputs that repeat an example instead of describing the passage.
    """
    if not raw or not raw.strip():
        return Cleaned(None, "empty")
    if _REFUSAL.search(raw[:200]):
        return Cleaned(None, "refusal")
    text = first_line(raw)
    if not text:
        return Cleaned(None, "empty")
    if _PREAMBLE.match(text):
        return Cleaned(None, "preamble")
    text = normalize_shape(text, qtype)
    ws = words(text)
    if not ws:
        return Cleaned(None, "empty")
    length = word_count(text)
    unspaced = bool(_UNSPACED_RUN.search(text))
    if length < qtype.min_words or (len(text) < 4 and not unspaced):
        return Cleaned(None, "too_short")
    if is_repetitive(ws):
        return Cleaned(None, "repetition")
    if length > qtype.max_words or len(text) > 12 * qtype.max_words:
        return Cleaned(None, "too_long")
    passage_words = words(passage)
    # Bigrams of an unspaced script are about half a word each.
    if longest_copied_span(ws, passage_words, COPY_NGRAM * (2 if unspaced else 1)):
        return Cleaned(None, "copies_passage")
    if off_topic(text, ws, passage_words):
        return Cleaned(None, "off_topic")
    if example_text and copies_example(ws, passage_words, example_text):
        return Cleaned(None, "copies_example")
    if not shape_ok(text, qtype):
        return Cleaned(None, "wrong_shape")
    return Cleaned(text)


def duplicate_key(text: str) -> str:
    """Key under which two accepted queries count as duplicates."""
    return " ".join(words(text))
