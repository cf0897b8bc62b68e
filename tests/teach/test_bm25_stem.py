"""Stemmed BM25 teachers: their own score-cache key, the default teacher's key kept, and
stemming reaching the scores (plain BM25 and BM25-PRF)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from corpusfit.teach.base import build_teacher
from corpusfit.teach.config import offline_teacher, teacher_config
from corpusfit.teach.scoring import CachedScorer

CORPUS = {"a": "retrieving passages from an index", "b": "wing lift and drag",
          "c": "the library catalogue of books", "d": "supersonic flow over a wing"}


def test_the_default_teachers_keys_are_those_of_0_1_0():
    # Pinned: score caches written before stemming existed keep their key (and scores).
    assert offline_teacher().teacher_id() == "ensemble-eaa87df99706ca4d"
    assert teacher_config(kind="bm25").teacher_id() == "bm25-0b36016f36d09caa"
    assert teacher_config(kind="bm25-prf").teacher_id() == "bm25-prf-94f87012bd5371be"
    assert teacher_config(kind="bm25", stem=False, language="english").teacher_id() == \
        "bm25-0b36016f36d09caa"  # the defaults written out are the same teacher
    assert "stem" not in teacher_config(kind="bm25").identity()


def test_stemming_and_language_give_their_own_keys():
    plain, stemmed = teacher_config(kind="bm25"), teacher_config(kind="bm25", stem=True)
    assert stemmed.teacher_id() != plain.teacher_id()
    assert stemmed.identity() == {"kind": "bm25", "stem": True}
    german = teacher_config(kind="bm25", stem=True, language="german")
    assert german.teacher_id() != stemmed.teacher_id()
    assert teacher_config(kind="bm25-prf", stem=True).teacher_id() != \
        teacher_config(kind="bm25-prf").teacher_id()
    ensemble = teacher_config(kind="ensemble", members=[{"kind": "dense", "model": "minilm"},
                                                        {"kind": "bm25", "stem": True}])
    assert ensemble.teacher_id() != offline_teacher().teacher_id()
    with pytest.raises(ValidationError, match="unknown BM25 language"):
        teacher_config(kind="bm25", language="klingon")


@pytest.mark.parametrize("kind", ["bm25", "bm25-prf"])
def test_stemming_matches_another_form_of_the_word(kind):
    passages = list(CORPUS.values())
    plain = build_teacher(teacher_config(kind=kind), corpus=CORPUS)
    stemmed = build_teacher(teacher_config(kind=kind, stem=True), corpus=CORPUS)
    assert plain.score("retrieval", passages)[0] == 0.0
    assert stemmed.score("retrieval", passages)[0] > 0.0
    assert stemmed.score("retrieval", passages)[1:] == [0.0, 0.0, 0.0]
    # texts outside the corpus (statistics of the list itself) are stemmed too
    assert stemmed.score("retrieval", ["retrieved texts", "other words"])[0] > 0.0


def test_a_shared_cache_keeps_stemmed_and_unstemmed_scores_apart(tmp_path):
    lists = [("retrieval", ["a", "b"])]
    plain = CachedScorer(build_teacher(teacher_config(kind="bm25"), corpus=CORPUS), CORPUS,
                         tmp_path)
    assert plain.score_lists(lists)[0][0] == 0.0
    stemmed = CachedScorer(build_teacher(teacher_config(kind="bm25", stem=True), corpus=CORPUS),
                           CORPUS, tmp_path)
    assert stemmed.score_lists(lists)[0][0] > 0.0  # not the unstemmed score from the cache
    assert stemmed.stats.scored == 2
