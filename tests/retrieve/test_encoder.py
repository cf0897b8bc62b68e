import numpy as np
import pytest
import torch

from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.retrieve.settings import EncoderOptions

TEXTS = ["lift of a wing", "heat transfer in a turbulent boundary layer of a flat plate",
         "drag", "computer program language", "the library index of books and papers and data"]


def test_plain_hf_folder_loads_as_sentence_transformers_does(tiny_bert):
    """No modules.json: sentence-transformers' own fallback (mean pooling, no Normalize);
    search vectors are then normalized for the model's cosine similarity."""
    from sentence_transformers import SentenceTransformer

    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    emb = enc.encode(TEXTS, "passage", show_progress=False)
    theirs = SentenceTransformer(str(tiny_bert), device="cpu").encode_document(TEXTS)
    assert emb.shape == (5, 32) and np.abs(emb - theirs).max() < 1e-5
    assert not enc.normalizes("passage")
    assert np.allclose(np.linalg.norm(enc.for_search(emb, "passage"), axis=1), 1.0, atol=1e-5)


def test_token_budget_batching_matches_one_by_one(tiny_bert):
    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    batched = enc.encode(TEXTS, "passage", batch_tokens=24, show_progress=False)
    single = np.stack([enc.encode([t], "passage", show_progress=False)[0] for t in TEXTS])
    assert np.allclose(batched, single, atol=1e-5)


def test_prompt_changes_query_embedding_only(tiny_bert):
    plain = DenseEncoder.load(str(tiny_bert), device="cpu")
    pref = DenseEncoder.load(str(tiny_bert), EncoderOptions(prompts={"query": "query : "}),
                             device="cpu")
    a = plain.encode(TEXTS[:2], "query", show_progress=False)
    b = pref.encode(TEXTS[:2], "query", show_progress=False)
    assert not np.allclose(a, b)
    assert np.allclose(pref.encode(TEXTS[:2], "passage", show_progress=False),
                       plain.encode(TEXTS[:2], "passage", show_progress=False))


def test_cache_avoids_reencoding(tiny_bert, tmp_path, monkeypatch):
    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    first = enc.encode(TEXTS, cache_dir=tmp_path, show_progress=False)
    calls = []
    original = enc._encode_uncached
    monkeypatch.setattr(enc, "_encode_uncached",
                        lambda t, *a, **k: calls.append(list(t)) or original(t, *a, **k))
    again = enc.encode(TEXTS + ["new text"], cache_dir=tmp_path, show_progress=False)
    assert calls == [["new text"]]
    assert np.allclose(again[:5], first)
    assert enc.encode([], cache_dir=tmp_path, show_progress=False).shape == (0, 32)


def test_embed_keeps_graph(tiny_bert):
    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    emb = enc.embed(enc.tokenize(TEXTS[:2], "query"))
    emb.sum().backward()
    grads = [p.grad for p in enc.model.parameters() if p.grad is not None]
    assert grads and any(torch.any(g != 0) for g in grads)


def test_bad_model_path_is_clear_error():
    from corpusfit.errors import CorpusfitError

    with pytest.raises(CorpusfitError, match="neither a known short name"):
        DenseEncoder.load("no-such-model")


def test_hub_id_not_in_the_cache_is_a_clear_error():
    from corpusfit.errors import CorpusfitError

    with pytest.raises(CorpusfitError, match="cannot load model 'nobody/no-such-model'"):
        DenseEncoder.load("nobody/no-such-model", device="cpu")


def test_long_queries_are_cut_where_sentence_transformers_cuts_them(tiny_bert, tmp_path):
    """A plain sentence-transformers folder: queries follow max_seq_length, not 64."""
    from sentence_transformers import SentenceTransformer, models

    word = models.Transformer(str(tiny_bert), max_seq_length=100)
    st = SentenceTransformer(modules=[word, models.Pooling(32, "mean"), models.Normalize()],
                             device="cpu")
    st.save(str(tmp_path / "st"))
    st = SentenceTransformer(str(tmp_path / "st"), device="cpu")
    enc = DenseEncoder.load(str(tmp_path / "st"), device="cpu")
    long_query = " ".join(TEXTS * 6)  # ~110 tokens: a cut at 64 would change the vector
    ours = enc.encode([long_query], "query", show_progress=False)
    theirs = st.encode_query([long_query], convert_to_numpy=True)
    assert np.allclose(ours, theirs, atol=1e-5)
    cut = DenseEncoder.load(str(tmp_path / "st"), EncoderOptions(query_max_length=64),
                            device="cpu")
    assert not np.allclose(cut.encode([long_query], "query", show_progress=False), theirs,
                           atol=1e-3)
    wide = DenseEncoder.load(str(tmp_path / "st"), EncoderOptions(passage_max_length=4096),
                             device="cpu")  # cut to the model's 100 tokens, no index error
    assert wide.encode([long_query], "passage", show_progress=False).shape == (1, 32)


def test_passage_cache_keys_ignore_query_settings(tiny_bert):
    """Trying another query prompt or length reuses the cached passage vectors."""
    plain = DenseEncoder.load(str(tiny_bert), device="cpu")
    query_side = DenseEncoder.load(str(tiny_bert), EncoderOptions(
        prompts={"query": "query: "}, query_max_length=16), device="cpu")
    assert plain.cache_namespace("passage") == query_side.cache_namespace("passage")
    assert plain.cache_namespace("query") != query_side.cache_namespace("query")
    passage_side = DenseEncoder.load(str(tiny_bert), EncoderOptions(
        prompts={"document": "passage: "}), device="cpu")
    assert plain.cache_namespace("passage") != passage_side.cache_namespace("passage")


def test_cpu_batches_stay_within_the_cpu_caps(tiny_bert):
    from corpusfit.retrieve import encoder as encoder_module

    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    texts = [("wing lift " * (1 + i % 40)).strip() for i in range(300)]
    lengths = enc._lengths(texts, "passage")
    batches = list(enc._batches(texts, "passage", batch_tokens=16384, max_batch=256))
    assert sorted(i for b in batches for i in b) == list(range(300))  # each text once
    for batch in batches:
        assert len(batch) <= encoder_module.CPU_BATCH
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= \
            encoder_module.CPU_TOKENS
    # a smaller budget than the caps is kept as asked
    small = list(enc._batches(texts, "passage", batch_tokens=512, max_batch=8))
    assert max(len(b) for b in small) <= 8 and len(small) > len(batches)
