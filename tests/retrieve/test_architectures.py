"""Every architecture: corpusfit's vectors are sentence-transformers' own, a training step
runs through the model's modules, and the trained folder reloads in plain
sentence-transformers with the same vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from corpusfit.errors import CorpusfitError
from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.retrieve.settings import EncoderOptions

ARCHITECTURES = ["bert-mean", "bge-cls", "e5-prompts", "dense-head", "qwen2-lasttoken", "router"]
QUERIES = ["what is lift", "heat transfer in a turbulent boundary layer", "drag",
           "library index of books and papers and data for a computer program language"]
PASSAGES = ["lift of a wing in supersonic flow", "drag of the wing",
            "heat transfer in a turbulent boundary layer " * 6, "library books", "data"]


def _st(folder):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


def _ours(enc: DenseEncoder) -> tuple[np.ndarray, np.ndarray]:
    # A small token budget: several length-sorted batches of different widths.
    return (enc.encode(QUERIES, "query", batch_tokens=24, show_progress=False),
            enc.encode(PASSAGES, "passage", batch_tokens=24, show_progress=False))


def _theirs(st) -> tuple[np.ndarray, np.ndarray]:
    return st.encode_query(QUERIES), st.encode_document(PASSAGES)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_vectors_equal_sentence_transformers(architectures, name):
    enc = DenseEncoder.load(str(architectures[name]), device="cpu")
    ours, theirs = _ours(enc), _theirs(_st(architectures[name]))
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert np.abs(a - b).max() < 1e-5
    if name == "dense-head":
        assert ours[0].shape[1] == 16  # the head is part of the forward pass


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    """corpus.jsonl + lists.jsonl over the passages above (4 train, 1 dev query)."""
    folder = tmp_path_factory.mktemp("lists")
    with open(folder / "corpus.jsonl", "w") as f:
        for i, text in enumerate(PASSAGES):
            f.write(json.dumps({"_id": f"d{i}", "title": "", "text": text}) + "\n")
    with open(folder / "lists.jsonl", "w") as f:
        for i, query in enumerate(QUERIES + ["heat"]):
            docs = [i % 5, (i + 1) % 5, (i + 2) % 5]
            f.write(json.dumps({"qid": f"q{i}", "query": query, "type": "question",
                                "source_id": f"d{docs[0]}", "doc_ids": [f"d{j}" for j in docs],
                                "scores": [1.0, 0.5, 0.1], "raw_scores": [3.0, 2.0, 1.0],
                                "split": "dev" if i == 4 else "train"}) + "\n")
    return folder / "lists.jsonl", folder / "corpus.jsonl"


@pytest.mark.parametrize("mode", ["full", "query_only"])
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_one_training_step_and_the_trained_folder_reloads(architectures, lists, name, mode,
                                                          tmp_path):
    from corpusfit.train.config import TrainConfig
    from corpusfit.train.data import load_training_data
    from corpusfit.train.distributed import DistContext
    from corpusfit.train.trainer import Trainer

    cfg = TrainConfig(student=str(architectures[name]), mode=mode, queries_per_step=4,
                      chunk_size=3, lr=1e-2, epochs=1, device="cpu")
    enc = DenseEncoder.load(cfg.student, device="cpu", query_only=mode == "query_only")
    data = load_training_data(*lists)
    bank = None
    if mode == "query_only":
        bank = torch.from_numpy(enc.encode(data.doc_texts, "passage", show_progress=False))
    trainer = Trainer(cfg, data, enc, DistContext(), total_steps=2, passage_bank=bank)
    before = [p.detach().clone() for p in trainer.params]
    parts = trainer.train_step(data.train, 0, schedule_step=trainer.warmup)  # lr > 0
    assert np.isfinite(parts["loss"]) and parts["grad_norm"] > 0
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, trainer.params))
    enc.model.eval()
    enc.save(tmp_path / "trained")
    assert not (tmp_path / ".trained.tmp").exists()
    again = _theirs(_st(tmp_path / "trained"))
    for a, b in zip(_ours(enc), again):
        assert np.abs(a - b).max() < 1e-5
    if mode == "query_only":  # the document side is still the base model
        base = _theirs(_st(architectures[name]))[1]
        assert np.abs(again[1] - base).max() < 1e-5


def test_query_only_makes_a_router_whose_document_side_is_the_base(architectures, tmp_path):
    base = DenseEncoder.load(str(architectures["e5-prompts"]), device="cpu")
    enc = DenseEncoder.load(str(architectures["e5-prompts"]), device="cpu", query_only=True)
    assert enc.is_asymmetric and not base.is_asymmetric
    assert enc.cache_namespace("passage") == base.cache_namespace("passage")
    trainable = [p for p in enc.model.parameters() if p.requires_grad]
    assert trainable and len(trainable) < len(list(enc.model.parameters()))
    with torch.no_grad():
        for p in trainable:
            p.add_(0.05)
    assert enc.cache_namespace("query") != base.cache_namespace("query")
    enc.save(tmp_path / "qo")
    st = _st(tmp_path / "qo")
    assert np.abs(st.encode_document(PASSAGES) - base.encode(PASSAGES, "passage",
                                                             show_progress=False)).max() < 1e-5
    assert np.abs(st.encode_query(QUERIES) - enc.encode(QUERIES, "query",
                                                        show_progress=False)).max() < 1e-5
    assert st.prompts["query"] == "query: " and st.prompts["document"] == "passage: "


def test_options_prompts_truncation_and_lengths_are_saved(architectures, tmp_path):
    options = EncoderOptions(prompts={"search": "search : "}, query_prompt_name="search",
                             truncate_dim=8, query_max_length=6)
    enc = DenseEncoder.load(str(architectures["bert-mean"]), options, device="cpu")
    ours = _ours(enc)
    assert ours[0].shape[1] == 8
    plain = DenseEncoder.load(str(architectures["bert-mean"]), device="cpu")
    assert not np.allclose(ours[0], plain.encode(QUERIES, "query", show_progress=False)[:, :8])
    enc.save(tmp_path / "saved")
    theirs = _theirs(_st(tmp_path / "saved"))
    for a, b in zip(ours, theirs):
        assert np.abs(a - b).max() < 1e-5


def test_unknown_prompt_name_is_a_clear_error(architectures):
    with pytest.raises(CorpusfitError, match="no prompt named 'nope'.*prompts: document"):
        DenseEncoder.load(str(architectures["bert-mean"]),
                          EncoderOptions(document_prompt_name="nope"), device="cpu")


def test_trust_remote_code_is_off_by_default_and_named(custom_code_model):
    from sentence_transformers import SentenceTransformer

    with pytest.raises(CorpusfitError, match="trust_remote_code: true"):
        DenseEncoder.load(str(custom_code_model), device="cpu")
    enc = DenseEncoder.load(str(custom_code_model), EncoderOptions(trust_remote_code=True),
                            device="cpu")
    assert type(enc.model[0].auto_model).__name__ == "TinyCustomModel"
    st = SentenceTransformer(str(custom_code_model), device="cpu", trust_remote_code=True)
    for a, b in zip(_ours(enc), _theirs(st)):
        assert np.abs(a - b).max() < 1e-5


def test_bf16_keeps_pooling_in_fp32_and_stays_close(architectures):
    fp32 = DenseEncoder.load(str(architectures["bert-mean"]), device="cpu")
    bf16 = DenseEncoder.load(str(architectures["bert-mean"]), device="cpu", precision="bf16")
    a, b = _ours(fp32)[1], _ours(bf16)[1]
    assert b.dtype == np.float32 and np.abs(a - b).max() < 0.05
    assert fp32.cache_namespace("passage") != bf16.cache_namespace("passage")


def test_eval_command_names_trust_remote_code_and_runs_with_it(custom_code_model, tiny_beir,
                                                               capsys):
    from corpusfit.cli import main

    args = ["eval", "--test-data", str(tiny_beir), "--retriever", str(custom_code_model),
            "--depth", "100"]
    assert main(args) == 2
    assert "trust_remote_code: true" in capsys.readouterr().err
    assert main([*args, "--trust-remote-code"]) == 0
    assert "nDCG@10" in capsys.readouterr().out
