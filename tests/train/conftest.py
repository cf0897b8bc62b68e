"""A small lists.jsonl + corpus in the label stage's schema, over the tiny BERT vocabulary."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

DOCS = [
    "lift of a wing in supersonic flow", "drag of an airfoil at subsonic mach",
    "heat transfer in a turbulent boundary layer", "shock and boundary layer interaction",
    "library index of books and papers", "computer program language and algorithm",
    "pressure on a flat plate in laminar flow", "velocity of turbulent flow on a plate",
    "retrieval of relevant passages for a query", "theory and experiment of wing drag",
    "model results for heat and pressure data", "search system for a library index",
]
QUERIES = ["what is lift", "drag of airfoil", "heat transfer", "shock layer", "library books",
           "computer algorithm", "laminar plate", "turbulent velocity", "retrieval query",
           "wing drag theory", "heat pressure model", "search library"]


def write_fixture(folder: Path, list_len: int = 5, seed: int = 0) -> tuple[Path, Path]:
    """Write ``corpus.jsonl`` and ``lists.jsonl`` (9 train, 3 dev queries) into ``folder``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.jsonl"
    with open(corpus, "w") as f:
        for i, text in enumerate(DOCS):
            f.write(json.dumps({"_id": f"d{i}", "title": "", "text": text}) + "\n")
    lists = folder / "lists.jsonl"
    with open(lists, "w") as f:
        for i, query in enumerate(QUERIES):
            others = [j for j in range(len(DOCS)) if j != i]
            docs = [i, *rng.sample(others, list_len - 1)]
            scores = sorted((rng.random() * 0.9 for _ in docs[1:]), reverse=True)
            rec = {"qid": f"q{i}", "query": query, "type": ["question", "keywords"][i % 2],
                   "source_id": f"d{i}", "doc_ids": [f"d{j}" for j in docs],
                   "scores": [1.0, *scores], "raw_scores": [5.0, *[s * 5 for s in scores]],
                   "split": "dev" if i % 4 == 3 else "train"}
            f.write(json.dumps(rec) + "\n")
    return lists, corpus


@pytest.fixture
def tiny_lists(tmp_path) -> tuple[Path, Path]:
    return write_fixture(tmp_path / "data")


@pytest.fixture
def short_lists(tmp_path) -> tuple[Path, Path]:
    """Lists of 3 passages (as a label stage with ``list_size: 3`` writes them)."""
    return write_fixture(tmp_path / "short", list_len=3)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest single-threaded on a shared CPU; restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def fixture_texts() -> tuple[list[str], list[str]]:
    """The passages and queries the fixture lists are made of (docs d0.., queries q0..)."""
    return DOCS, QUERIES
