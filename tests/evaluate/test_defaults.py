"""Retrieval defaults live in one model; the command line and the stages take them from it."""

import argparse

import pytest

from corpusfit.cli import eval as command
from corpusfit.cli import main
from corpusfit.evaluate.harness import Harness
from corpusfit.evaluate.stage import EvaluateConfig
from corpusfit.retrieve.mine import MineConfig
from corpusfit.retrieve.settings import RetrievalSettings


def _eval_args(*flags: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    command.add_arguments(p)
    return p.parse_args(["--data", "x", "--retriever", "bm25", *flags])


def test_eval_command_defaults_are_the_config_models():
    assert command.config_from_args(_eval_args()) == EvaluateConfig()
    got = command.config_from_args(_eval_args()).retrieval()
    want = RetrievalSettings()
    assert (got.depth, got.rrf_k, got.batch_tokens) == (want.depth, want.rrf_k, want.batch_tokens)
    assert MineConfig().rrf_k == EvaluateConfig().rrf_k == RetrievalSettings().rrf_k


def test_eval_command_keeps_the_config_bounds(tiny_beir, capsys):
    rc = main(["eval", "--data", str(tiny_beir), "--retriever", "bm25", "--depth", "50"])
    assert rc == 2
    assert "depth" in capsys.readouterr().err


def test_harness_uses_the_settings(tiny_beir):
    from corpusfit.data.readers import load_beir

    data = load_beir(str(tiny_beir), "test")
    run = Harness(data, RetrievalSettings(depth=2)).run("bm25")
    assert run and all(len(docs) <= 2 for docs in run.values())
    with pytest.raises(Exception, match="at least two retrievers"):
        Harness(data).run("rrf:bm25")


def test_function_defaults_are_the_settings():
    import inspect

    from corpusfit.retrieve.bm25 import BM25Index
    from corpusfit.retrieve.encoder import DenseEncoder
    from corpusfit.retrieve.fusion import rrf
    from corpusfit.retrieve.index import DenseIndex

    def default_of(fn, name):
        return inspect.signature(fn).parameters[name].default

    want = RetrievalSettings()
    assert default_of(rrf, "k") == want.rrf_k
    assert default_of(DenseEncoder.encode, "batch_tokens") == want.batch_tokens
    assert default_of(BM25Index.run, "k") == default_of(DenseIndex.run, "k") == want.depth
    runs = [{"q": {"a": 2.0, "b": 1.0}}, {"q": {"b": 2.0, "a": 1.0}}]
    assert rrf(runs) == rrf(runs, k=want.rrf_k)
    assert rrf(runs)["q"]["a"] == pytest.approx(1 / (want.rrf_k + 1) + 1 / (want.rrf_k + 2))
