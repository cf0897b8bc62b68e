"""An LLM judge behind a server is asked each (query, passage) pair once: a runtime-only
teacher field or a grown corpus sends only the pairs no earlier run scored."""

from __future__ import annotations

import json
from pathlib import Path

from corpusfit.data.ingest import IngestConfig
from corpusfit.generate import GenerateConfig, backend_config
from corpusfit.retrieve.mine import MineConfig
from corpusfit.stages.generate import run_generate
from corpusfit.stages.ingest import run_ingest
from corpusfit.stages.label import run_label
from corpusfit.stages.mine import run_mine
from corpusfit.teach.config import LabelConfig, teacher_config

WORDS = "wing lift drag shock mach plate heat layer flow nozzle jet cone".split()


def _pipeline(tmp_path: Path, srv, n: int, **judge) -> Path:
    """ingest -> generate -> mine (BM25) -> label with the judge; the label folder."""
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": f"p{i:02d}", "text": f"p{i:02d} " + " ".join(
        WORDS[(i + k) % len(WORDS)] for k in range(5))}) + "\n" for i in range(n)))
    run = tmp_path / "run"
    run_ingest(IngestConfig(), corpus, run / "ingest")
    gen = GenerateConfig(types=["question"], attempts=1, backend=backend_config(
        name="openai", model="counted", base_url=srv.url, max_retries=0))
    run_generate(gen, run / "ingest", run / "gen", progress=False)
    run_mine(MineConfig(retrievers=["bm25"], round_trip=False), run / "gen/queries.jsonl",
             run / "ingest/corpus.jsonl", run / "mine")
    teacher = teacher_config(kind="llm-judge", model="counted", backend="openai",
                             base_url=srv.url, **judge)
    label = LabelConfig(teacher=teacher, score_depth=4, list_size=3,
                        require_source_first=False, top_score_filter="none")
    run_label(label, run / "mine/candidates.jsonl", run / "ingest/corpus.jsonl",
              run / "label", cache_dir=tmp_path / "scores")
    return run / "label"


def test_runtime_only_judge_fields_and_a_grown_corpus_ask_only_new_pairs(tmp_path, server):
    _pipeline(tmp_path, server, 6)
    first = server.judged
    assert first > 0
    server.reset()
    _pipeline(tmp_path, server, 6, timeout=5.0, max_retries=1)  # how, not what: no request
    assert server.judged == 0
    _pipeline(tmp_path, server, 8)  # two passages more: their pairs only
    assert server.judged > 0
    assert max(server.prompts.values()) == 1  # no (query, passage) was ever asked twice
