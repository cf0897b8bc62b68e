"""BM25 with RM3-style pseudo-relevance feedback: the relevance model, the mixture, and
a passage that shares no query term but the feedback's terms scoring above zero."""

from __future__ import annotations

import pytest

from corpusfit.teach.base import build_teacher
from corpusfit.teach.config import teacher_config
from corpusfit.teach.prf import expanded_query, relevance_model

CORPUS = {"a": "wing lift wing lift supersonic", "b": "wing lift drag airfoil",
          "c": "airfoil drag supersonic flow", "d": "library books index",
          "e": "library catalogue index"}


def test_relevance_model_weights_terms_by_document_score_and_length():
    model = relevance_model([["x", "y"], ["x"]], [1.0, 3.0], fb_terms=5)
    # x: 0.25 * 1/2 + 0.75 * 1 = 0.875, y: 0.25 * 1/2 = 0.125
    assert model == pytest.approx({"x": 0.875, "y": 0.125})
    assert relevance_model([["x", "y"], ["x"]], [1.0, 3.0], fb_terms=1) == {"x": 1.0}
    assert relevance_model([["x"]], [0.0], fb_terms=3) == {}


def test_the_query_mixture_keeps_the_original_weight():
    q = expanded_query(["wing", "wing", "lift"], {"lift": 0.5, "drag": 0.5}, 0.6)
    assert q == pytest.approx({"wing": 0.4, "lift": 0.2 + 0.2, "drag": 0.2})
    assert expanded_query(["wing"], {}, 0.3) == {"wing": 1.0}  # no feedback: the query


def test_feedback_reaches_a_passage_without_the_query_terms():
    prf = build_teacher(teacher_config(kind="bm25-prf", fb_docs=2, fb_terms=6,
                                       original_weight=0.5), corpus=CORPUS)
    bm25 = build_teacher(teacher_config(kind="bm25"), corpus=CORPUS)
    passages = list(CORPUS.values())
    plain, expanded = bm25.score("wing", passages), prf.score("wing", passages)
    assert plain[2] == 0.0 and expanded[2] > 0.0  # "airfoil drag supersonic" via feedback
    assert expanded[3] == expanded[4] == 0.0  # library passages share nothing
    assert expanded[0] > expanded[2] and expanded[1] > expanded[2]


def test_passages_outside_the_corpus_are_scored_among_themselves():
    prf = build_teacher(teacher_config(kind="bm25-prf"), corpus=CORPUS)
    scores = prf.score("wing", ["a wing here", "library books"])
    assert scores[0] > 0.0 and scores[1] == 0.0
    assert teacher_config(kind="bm25-prf").teacher_id().startswith("bm25-prf-")
    with pytest.raises(ValueError):
        teacher_config(kind="bm25-prf", original_weight=1.5)
