"""GradCache gives the gradients of plain full-batch backprop."""

from __future__ import annotations

import torch

from corpusfit.retrieve.encoder import DenseEncoder
from corpusfit.train.data import collate, load_training_data
from corpusfit.train.gradcache import GradCache
from corpusfit.train.losses import Objective


def _setup(tiny_bert, tiny_lists):
    enc = DenseEncoder.load(str(tiny_bert), device="cpu")
    data = load_training_data(*tiny_lists)
    col = collate(data.train, data.key_of)
    passages = [data.doc_texts[k] for k in col.passage_keys]
    return enc, col, passages


def _grads(enc) -> dict[str, torch.Tensor]:
    out = {n: p.grad.clone() for n, p in enc.model.named_parameters() if p.grad is not None}
    enc.model.zero_grad(set_to_none=True)
    return out


def _gradcache_grads(enc, col, passages, chunk, enabled, seed=0):
    torch.manual_seed(seed)
    gc = GradCache(enc, chunk_size=chunk, enabled=enabled)
    q = gc.forward(col.query_texts, "query")
    p = gc.forward(passages, "passage")
    loss = Objective({"listwise": 1.0, "infonce": 0.1})(q, p, col.batch)["loss"]
    gc.backward(loss)
    return loss.item(), _grads(enc)


def test_gradcache_equals_full_batch(tiny_bert, tiny_lists):
    enc, col, passages = _setup(tiny_bert, tiny_lists)
    enc.model.eval()  # no dropout: the full batch and the chunks see the same network
    q = enc.embed(enc.tokenize(col.query_texts, "query"))
    p = enc.embed(enc.tokenize(passages, "passage"))
    full_loss = Objective({"listwise": 1.0, "infonce": 0.1})(q, p, col.batch)["loss"]
    full_loss.backward()
    full = _grads(enc)
    loss, cached = _gradcache_grads(enc, col, passages, chunk=3, enabled=True)
    assert abs(loss - full_loss.item()) < 1e-5
    assert full.keys() == cached.keys() and len(full) > 10
    for name, g in full.items():
        assert torch.allclose(cached[name], g, atol=1e-5), name
    assert any(g.abs().sum() > 0 for g in full.values())


def test_gradcache_restores_dropout_rng(tiny_bert, tiny_lists):
    enc, col, passages = _setup(tiny_bert, tiny_lists)
    enc.model.train()  # dropout on: replays must redraw the cached chunks' masks
    loss_a, plain = _gradcache_grads(enc, col, passages, chunk=4, enabled=False, seed=7)
    loss_b, cached = _gradcache_grads(enc, col, passages, chunk=4, enabled=True, seed=7)
    assert abs(loss_a - loss_b) < 1e-6
    for name, g in plain.items():
        assert torch.allclose(cached[name], g, atol=1e-5), name
    # And the masks matter: another seed gives other gradients.
    _, other = _gradcache_grads(enc, col, passages, chunk=4, enabled=True, seed=8)
    assert any(not torch.allclose(other[n], g, atol=1e-5) for n, g in plain.items())


def test_rng_stream_unaffected_by_replay(tiny_bert, tiny_lists):
    enc, col, passages = _setup(tiny_bert, tiny_lists)
    enc.model.train()
    _gradcache_grads(enc, col, passages, chunk=4, enabled=True, seed=3)
    after_cached = torch.rand(3)
    _gradcache_grads(enc, col, passages, chunk=4, enabled=False, seed=3)
    after_plain = torch.rand(3)
    assert torch.equal(after_cached, after_plain)
