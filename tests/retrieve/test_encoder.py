import numpy as np
import pytest
import torch

from corpusfit.retrieve.encoder import DenseEncoder

TEXTS = ["lift of a wing", "heat transfer in a turbulent boundary layer of a flat plate",
         "drag", "computer program language", "the library index of books and papers and data"]


def test_pooling_and_normalization(tiny_bert):
    enc = DenseEncoder.load(str(tiny_bert), pooling="mean")
    emb = enc.encode(TEXTS, "passage", show_progress=False)
    assert emb.shape == (5, 32)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    cls = DenseEncoder.load(str(tiny_bert), pooling="cls").encode(TEXTS, show_progress=False)
    assert not np.allclose(emb, cls)


def test_token_budget_batching_matches_one_by_one(tiny_bert):
    enc = DenseEncoder.load(str(tiny_bert), pooling="mean")
    batched = enc.encode(TEXTS, "passage", batch_tokens=24, show_progress=False)
    single = np.stack([enc.encode([t], "passage", show_progress=False)[0] for t in TEXTS])
    assert np.allclose(batched, single, atol=1e-5)


def test_prefix_changes_query_embedding(tiny_bert):
    plain = DenseEncoder.load(str(tiny_bert))
    pref = DenseEncoder.load(str(tiny_bert), query_prefix="query : ")
    a = plain.encode(TEXTS[:2], "query", show_progress=False)
    b = pref.encode(TEXTS[:2], "query", show_progress=False)
    assert not np.allclose(a, b)
    assert np.allclose(pref.encode(TEXTS[:2], "passage", show_progress=False),
                       plain.encode(TEXTS[:2], "passage", show_progress=False))


def test_cache_avoids_reencoding(tiny_bert, tmp_path, monkeypatch):
    enc = DenseEncoder.load(str(tiny_bert))
    first = enc.encode(TEXTS, cache_dir=tmp_path, show_progress=False)
    calls = []
    original = enc._encode_uncached
    monkeypatch.setattr(enc, "_encode_uncached",
                        lambda t, *a, **k: calls.append(list(t)) or original(t, *a, **k))
    again = enc.encode(TEXTS + ["new text"], cache_dir=tmp_path, show_progress=False)
    assert calls == [["new text"]]
    assert np.allclose(again[:5], first)


def test_save_loads_in_sentence_transformers(tiny_bert, tmp_path):
    from sentence_transformers import SentenceTransformer

    enc = DenseEncoder.load(str(tiny_bert), pooling="cls", query_prefix="query : ")
    enc.save(tmp_path / "st")
    ours = enc.encode(TEXTS, "passage", show_progress=False)
    st = SentenceTransformer(str(tmp_path / "st"), device="cpu")
    theirs = st.encode(TEXTS, convert_to_numpy=True, normalize_embeddings=False)
    assert np.allclose(ours, theirs, atol=1e-5)
    again = DenseEncoder.load(str(tmp_path / "st"))
    assert again.settings == enc.settings


def test_embed_keeps_graph(tiny_bert):
    enc = DenseEncoder.load(str(tiny_bert))
    emb = enc.embed(enc.tokenize(TEXTS[:2], "query"))
    emb.sum().backward()
    grads = [p.grad for p in enc.model.parameters() if p.grad is not None]
    assert grads and any(torch.any(g != 0) for g in grads)


def test_bad_model_path_is_clear_error():
    from corpusfit.errors import CorpusfitError

    with pytest.raises(CorpusfitError, match="neither a known short name"):
        DenseEncoder.load("no-such-model")


def test_long_queries_are_cut_where_sentence_transformers_cuts_them(tiny_bert, tmp_path):
    """A plain sentence-transformers folder: queries follow max_seq_length, not 64."""
    from sentence_transformers import SentenceTransformer, models

    word = models.Transformer(str(tiny_bert), max_seq_length=100)
    st = SentenceTransformer(modules=[word, models.Pooling(32, "mean"), models.Normalize()],
                             device="cpu")
    st.save(str(tmp_path / "st"))
    st = SentenceTransformer(str(tmp_path / "st"), device="cpu")
    enc = DenseEncoder.load(str(tmp_path / "st"))
    assert enc.settings.query_max_length == enc.settings.passage_max_length == 100
    long_query = " ".join(TEXTS * 6)  # ~110 tokens: a cut at 64 would change the vector
    ours = enc.encode([long_query], "query", show_progress=False)
    theirs = st.encode_query([long_query], convert_to_numpy=True)
    assert np.allclose(ours, theirs, atol=1e-5)
    cut = DenseEncoder.load(str(tmp_path / "st"), query_max_length=64)
    assert not np.allclose(cut.encode([long_query], "query", show_progress=False), theirs,
                           atol=1e-3)


def test_passage_cache_keys_ignore_query_settings(tiny_bert):
    """Trying another query prefix or length reuses the cached passage vectors."""
    plain = DenseEncoder.load(str(tiny_bert))
    query_side = DenseEncoder.load(str(tiny_bert), query_prefix="query: ", query_max_length=16)
    assert plain.cache_namespace("passage") == query_side.cache_namespace("passage")
    assert plain.cache_namespace("query") != query_side.cache_namespace("query")
    passage_side = DenseEncoder.load(str(tiny_bert), passage_prefix="passage: ")
    assert plain.cache_namespace("passage") != passage_side.cache_namespace("passage")
