"""Shared fixtures: offline, tiny, random models built on the fly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(
    "the a of in to and is for on with wing lift drag flow mach shock boundary layer heat "
    "transfer pressure supersonic subsonic airfoil plate velocity turbulent laminar "
    "what how which are does theory experiment results model data query passage search "
    "retrieval library book index paper computer program language system algorithm "
    "represent this sentence searching relevant passages : ? . , ##s ##ed ##ing".split()))


def _build_tiny_bert(folder: Path, seed: int = 0, hidden: int = 32) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    # Positional: transformers 4 names it vocab_file, 5 names it vocab (and silently ignores
    # vocab_file, leaving a 5-token vocabulary that maps every word to [UNK]).
    tok = BertTokenizerFast(str(folder / "vocab.txt"), do_lower_case=True)
    tok.save_pretrained(folder)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(VOCAB), hidden_size=hidden, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=2 * hidden,
                     max_position_embeddings=128)
    BertModel(cfg).save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def completion_store(tmp_path_factory, monkeypatch) -> Path:
    """Each test gets its own empty completion store, never the user's ~/.cache one."""
    root = tmp_path_factory.mktemp("completions")
    monkeypatch.setenv("CORPUSFIT_COMPLETIONS", str(root))
    return root


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT with its tokenizer, as a plain HF folder."""
    return _build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def tiny_bert_factory(tmp_path_factory):
    """Build further tiny BERTs (e.g. with another seed)."""
    def make(seed: int = 0, hidden: int = 32) -> Path:
        return _build_tiny_bert(tmp_path_factory.mktemp(f"bert{seed}"), seed, hidden)
    return make


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory, tiny_bert) -> Path:
    """A sentence-transformers CrossEncoder folder (random 2-layer BERT, one label), saved
    offline: a real cross-encoder's code path with a random score scale."""
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(7)
    folder = tmp_path_factory.mktemp("tiny_ce")
    CrossEncoder(str(tiny_bert), num_labels=1).save(str(folder))
    return folder


@pytest.fixture
def tiny_beir(tmp_path) -> Path:
    """A 6-document BEIR folder with 3 queries and judgments."""
    return make_tiny_beir(tmp_path / "beir")


@pytest.fixture(scope="session")
def tiny_beir_factory():
    """Write the tiny BEIR collection into a folder (for fixtures wider than a test)."""
    return make_tiny_beir


def make_tiny_beir(folder: Path) -> Path:
    """Write the tiny BEIR collection of :func:`tiny_beir` into ``folder``."""
    (folder / "qrels").mkdir(parents=True)
    docs = [
        ("d1", "Wing lift", "lift of a wing in supersonic flow"),
        ("d2", "Drag", "drag of an airfoil at subsonic mach"),
        ("d3", "Heat", "heat transfer in a turbulent boundary layer"),
        ("d4", "Shock", "shock wave and boundary layer interaction"),
        ("d5", "Library", "library index of books and papers"),
        ("d6", "Programs", "computer program language and algorithm"),
    ]
    with open(folder / "corpus.jsonl", "w") as f:
        for i, t, x in docs:
            f.write(json.dumps({"_id": i, "title": t, "text": x}) + "\n")
    queries = [("q1", "lift of a wing"), ("q2", "heat transfer boundary layer"),
               ("q3", "computer algorithm")]
    with open(folder / "queries.jsonl", "w") as f:
        for i, t in queries:
            f.write(json.dumps({"_id": i, "text": t}) + "\n")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\nq2\td4\t1\nq3\td6\t1\n")
    return folder


@pytest.fixture(scope="session")
def cranfield() -> Path:
    path = SHARED / "cranfield"
    if not path.exists():
        pytest.skip("shared datasets not present")
    return path


@pytest.fixture
def server():
    """A local OpenAI-compatible server that counts the requests it receives
    (``tests/generate/counting_server.py``; ``server.url``). Test modules that need another
    server define their own ``server``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "counting_server", Path(__file__).resolve().parent / "generate" / "counting_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    srv = module.start()
    yield srv
    srv.shutdown()
    srv.server_close()
