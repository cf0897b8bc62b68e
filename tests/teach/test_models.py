"""Real teacher code paths on tiny random models: cross-encoder, T5, causal LMs."""

from __future__ import annotations

import numpy as np
import pytest

from corpusfit.teach.base import build_teacher
from corpusfit.teach.config import teacher_config

QUERIES = ["what is the lift of a wing", "heat transfer in a boundary layer"]
PASSAGES = ["the lift of a wing in supersonic flow", "heat transfer in a turbulent layer",
            "shock and boundary layer", "drag of an airfoil"]


def test_cross_encoder_scores_match_the_model(tiny_cross_encoder):
    import torch
    from sentence_transformers import CrossEncoder

    teacher = build_teacher(teacher_config(kind="cross-encoder", model=str(tiny_cross_encoder),
                                          batch_size=3, device="cpu"))
    got = teacher.score(QUERIES[0], PASSAGES)
    ce = CrossEncoder(str(tiny_cross_encoder), device="cpu")
    want = ce.predict([[QUERIES[0], p] for p in PASSAGES], activation_fn=torch.nn.Identity())
    assert len(got) == len(PASSAGES)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert len(set(np.round(got, 6))) > 1  # really depends on the passage


def _t5_first_step(folder, query, passage):
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSeq2SeqLM.from_pretrained(folder).eval()
    enc = tok([f"Query: {query} Document: {passage} Relevant:"], return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc, decoder_input_ids=torch.zeros((1, 1), dtype=torch.long)).logits
    return logits[0, 0], tok


def test_monot5_is_log_softmax_of_true_vs_false(tiny_t5):
    import torch

    teacher = build_teacher(teacher_config(kind="t5", model=str(tiny_t5), device="cpu"))
    got = teacher.score(QUERIES[0], PASSAGES[:2])
    for passage, score in zip(PASSAGES[:2], got):
        logits, tok = _t5_first_step(tiny_t5, QUERIES[0], passage)
        t, f = tok.convert_tokens_to_ids("true"), tok.convert_tokens_to_ids("false")
        want = torch.log_softmax(logits[[f, t]], dim=0)[1].item()
        assert score == pytest.approx(want, abs=1e-5)
        assert score < 0


def test_rankt5_is_the_extra_id_logit(tiny_t5):
    teacher = build_teacher(teacher_config(kind="t5", model=str(tiny_t5), variant="rankt5",
                                          device="cpu", batch_size=1))
    got = teacher.score(QUERIES[1], PASSAGES[:3])
    for passage, score in zip(PASSAGES[:3], got):
        logits, tok = _t5_first_step(tiny_t5, QUERIES[1], passage)
        assert score == pytest.approx(logits[tok.convert_tokens_to_ids("<extra_id_10>")].item(),
                                      abs=1e-5)


def test_t5_unknown_token_is_a_config_error(tiny_t5):
    from corpusfit.errors import ConfigError

    with pytest.raises(ConfigError, match="vocabulary"):
        build_teacher(teacher_config(kind="t5", model=str(tiny_t5), true_token="zebra"))


def _pairs():
    return [(q, p) for p in PASSAGES[:3] for q in QUERIES] + [(QUERIES[0], PASSAGES[3])]


@pytest.mark.parametrize("kind", ["query-likelihood", "llm-judge"])
def test_kv_reuse_gives_the_same_scores(tiny_causal, kind):
    base = dict(kind=kind, model=str(tiny_causal), device="cpu", batch_size=2)
    reused = build_teacher(teacher_config(**base, kv_reuse=True)).score_pairs(_pairs())
    scratch = build_teacher(teacher_config(**base, kv_reuse=False)).score_pairs(_pairs())
    np.testing.assert_allclose(reused, scratch, atol=1e-4)
    assert len(set(np.round(reused, 5))) > 2


def test_query_likelihood_is_mean_token_logprob(tiny_causal):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    teacher = build_teacher(teacher_config(kind="query-likelihood", model=str(tiny_causal),
                                          device="cpu"))
    got = teacher.score(QUERIES[0], [PASSAGES[0]])[0]
    tok = AutoTokenizer.from_pretrained(tiny_causal)
    model = AutoModelForCausalLM.from_pretrained(tiny_causal).eval()
    enc = lambda t: tok(t, add_special_tokens=False)["input_ids"]  # noqa: E731
    prefix = ([tok.bos_token_id] + enc("Passage: ") + enc(PASSAGES[0])
              + enc("\nPlease write a question based on this passage.\nQuestion:"))
    query = enc(" " + QUERIES[0])
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([prefix + query])).logits[0], -1)
    want = np.mean([logp[len(prefix) - 1 + j, t].item() for j, t in enumerate(query)])
    assert got == pytest.approx(want, abs=1e-4)
    assert got < 0


def test_judge_prompt_must_put_passage_first():
    from corpusfit.errors import ConfigError
    from corpusfit.teach.llm_judge import split_judge_prompt

    assert split_judge_prompt("P: {passage}\nQ: {query}\nA:") == ("P: {passage}\nQ:",
                                                                  " {query}\nA:")
    with pytest.raises(ConfigError):
        split_judge_prompt("Q: {query} P: {passage}")
