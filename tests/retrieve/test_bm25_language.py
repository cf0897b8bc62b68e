"""BM25's language setting: stop words and Snowball stemming (bm25s + PyStemmer)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from corpusfit.retrieve.bm25 import BM25Index
from corpusfit.retrieve.settings import RetrievalSettings

DOCS = ["the wings were tested in tunnels", "a library catalogue of books",
        "computing programs and languages"]


def _top(index: BM25Index, query: str) -> int:
    idx, _ = index.search([query], k=3)
    return int(idx[0][0])


def test_stemming_matches_word_forms():
    ids = ["w", "l", "c"]
    plain = BM25Index(ids, DOCS, language="english", stem=False)
    stemmed = BM25Index(ids, DOCS, language="english", stem=True)
    assert _top(plain, "wing tunnel test") == -1  # no exact form in common
    assert _top(stemmed, "wing tunnel test") == 0
    assert _top(stemmed, "catalogues") == 1


def test_german_stop_words_and_stems():
    docs = ["die Flügel wurden im Windkanal getestet", "eine Bibliothek mit Büchern"]
    index = BM25Index(["f", "b"], docs, language="german", stem=True)
    assert _top(index, "Flügels") == 0
    assert index.score("die eine mit", [0, 1]).tolist() == [0.0, 0.0]  # only stop words


def test_chinese_is_read_character_by_character():
    docs = ["边界层的热传递", "图书馆的索引"]
    index = BM25Index(["h", "l"], docs, language="chinese")
    assert _top(index, "热传递") == 0 and _top(index, "索引") == 1
    whole = BM25Index(["h", "l"], docs, language="none")
    assert _top(whole, "热传递") == -1  # one term per run of characters: no match


def test_unknown_language_is_a_config_error():
    with pytest.raises(ValidationError, match="unknown BM25 language 'klingon'"):
        RetrievalSettings(bm25_language="klingon")
