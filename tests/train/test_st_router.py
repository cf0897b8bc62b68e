"""A query-only model is one movable sentence-transformers folder (a Router) that
``SentenceTransformer`` and corpusfit's evaluation read alike."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from corpusfit.errors import CorpusfitError
from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.retrieve.settings import EncoderOptions
from corpusfit.stages.train import run_train
from corpusfit.train.config import TrainConfig
from corpusfit.train.session import model_dir

LONG_QUERY = "what is the lift and drag of a wing in supersonic flow over a flat plate"


def _train(bert, lists, out, **kw):
    cfg = TrainConfig(student=str(bert), queries_per_step=4, chunk_size=3, epochs=2, lr=1e-3,
                      patience=5, device="cpu", max_minutes=None, keep_base_if_better=False,
                      query_max_length=8, passage_max_length=48, **kw)
    run_train(cfg, *lists, out, show_progress=False)
    return model_dir(out)


@pytest.fixture
def moved_query_only(tiny_bert, tiny_lists, tmp_path):
    """A trained query-only folder, moved away from where it was written."""
    out = _train(tiny_bert, tiny_lists, tmp_path / "written", mode="query_only")
    target = tmp_path / "elsewhere" / "model"
    target.parent.mkdir()
    shutil.move(str(out), str(target))
    return target


def _st(folder):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


def test_query_only_folder_is_a_self_contained_router(moved_query_only, tiny_bert, tmp_path):
    folder = moved_query_only
    modules = json.loads((folder / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Router"]
    assert not (folder / "corpusfit_encoder.json").exists()
    assert not (folder / "manifest.json").exists()  # stage records stay beside the model
    for f in folder.rglob("*"):  # nothing in the folder points outside it
        if f.is_file() and f.suffix in {".json", ".md", ".txt"}:
            assert str(tmp_path) not in f.read_text() and str(tiny_bert) not in f.read_text()
    st = _st(folder)
    routes = st[0].sub_modules
    assert routes["query"][0].query_length == 8 and routes["document"][0].document_length == 48


def test_sentence_transformers_reproduces_corpusfit_vectors(moved_query_only, tiny_bert,
                                                            fixture_texts):
    docs, queries = fixture_texts
    queries = [*queries, LONG_QUERY]  # longer than the query route's 8 tokens
    st = _st(moved_query_only)
    enc = DenseEncoder.load(str(moved_query_only), device="cpu")
    assert enc.is_asymmetric
    ours_q = enc.encode(queries, "query", show_progress=False)
    ours_p = enc.encode(docs, "passage", show_progress=False)
    assert np.allclose(st.encode_query(queries), ours_q, atol=1e-5)
    assert np.allclose(st.encode_document(docs), ours_p, atol=1e-5)
    # The document route is the base model; the query route is the trained one.
    base = DenseEncoder.load(str(tiny_bert), EncoderOptions(passage_max_length=48),
                             device="cpu")
    assert np.allclose(ours_p, base.encode(docs, "passage", show_progress=False), atol=1e-6)
    assert not np.allclose(st.encode_query(docs), st.encode_document(docs), atol=1e-3)


def test_same_ndcg_as_corpusfit_evaluation(moved_query_only, tiny_beir):
    from corpusfit.data.readers import load_beir
    from corpusfit.evaluate.harness import Harness
    from corpusfit.evaluate.metrics import evaluate
    from corpusfit.retrieve.index import DenseIndex
    from corpusfit.retrieve.settings import RetrievalSettings

    data = load_beir(str(tiny_beir), "test")
    ours = evaluate(data.qrels, Harness(data, RetrievalSettings(show_progress=False))
                    .run(str(moved_query_only)))
    st = _st(moved_query_only)
    ids = list(data.corpus)
    qids = list(data.queries)
    # cosine, the model's similarity (its vectors are not normalized: no Normalize module)
    doc_emb = st.encode_document([data.corpus[d].full_text() for d in ids],
                                 normalize_embeddings=True)
    q_emb = st.encode_query([data.queries[q].text for q in qids], normalize_embeddings=True)
    theirs = evaluate(data.qrels, DenseIndex(ids, doc_emb).run(qids, q_emb, k=1000))
    assert ours["nDCG@10"] == pytest.approx(theirs["nDCG@10"], abs=1e-9)


def test_full_mode_stays_a_plain_folder(tiny_bert, tiny_lists, tmp_path, fixture_texts):
    out = _train(tiny_bert, tiny_lists, tmp_path / "full", mode="full")
    modules = json.loads((out / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling"]
    docs, _ = fixture_texts
    enc = DenseEncoder.load(str(out), device="cpu")
    assert not enc.is_asymmetric
    assert np.allclose(_st(out).encode_document(docs),
                       enc.encode(docs, "passage", show_progress=False), atol=1e-5)


def test_older_query_only_layout_fails_clearly(tiny_bert, tmp_path):
    folder = tmp_path / "old"
    DenseEncoder.load(str(tiny_bert), device="cpu").save(folder)
    (folder / "corpusfit_encoder.json").write_text(json.dumps({"passage_model": "/gone"}))
    with pytest.raises(CorpusfitError, match="corpusfit_encoder.json: a query-only model"):
        DenseEncoder.load(str(folder), device="cpu")
