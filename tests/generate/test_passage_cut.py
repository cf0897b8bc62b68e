"""The LLM reads the passage as the student encodes it: cut at the student's length."""

from __future__ import annotations

import json

from corpusfit.data.ingest import IngestConfig
from corpusfit.generate import GenerateConfig, backend_config
from corpusfit.retrieve.passage_tokens import passage_tokens
from corpusfit.stages.generate import run_generate
from corpusfit.stages.ingest import run_ingest

LONG = " ".join(f"Sentence {i} says the shock wave bends the boundary layer." for i in range(80))


def _ingested(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    rows = [{"_id": "long", "title": "Shocks", "text": LONG}] + \
        [{"_id": f"s{i}", "title": "", "text": f"short passage {i} on wing lift"}
         for i in range(4)]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_ingest(IngestConfig(), corpus, tmp_path / "ingest")  # passages: left as they are
    return tmp_path / "ingest"


def _seen_passages(tmp_path, **kw) -> dict[str, str]:
    from fake_backend import RecordingBackend

    RecordingBackend.SEEN.clear()
    config = GenerateConfig(backend=backend_config(name="fake_backend:RecordingBackend"),
                            types=["question"], **kw)
    run_generate(config, _ingested(tmp_path), tmp_path / "gen", progress=False, force=True)
    return {r.source_id: r.passage for r in RecordingBackend.SEEN}


def test_the_prompt_holds_what_the_student_encodes(tmp_path):
    seen = _seen_passages(tmp_path)
    tokens = passage_tokens("minilm")
    full = f"Shocks {LONG}"
    assert full.startswith(seen["long"]) and len(seen["long"]) < len(full)
    assert tokens.counts([seen["long"]])[0] <= 256
    assert tokens.counts([seen["long"] + " shock wave"])[0] > 256  # cut at the limit
    assert seen["s0"] == "short passage 0 on wing lift"
    # The cut and the prompt agree: the last user turn carries the same text.
    from fake_backend import RecordingBackend

    request = next(r for r in RecordingBackend.SEEN if r.source_id == "long")
    assert seen["long"] in request.messages[-1]["content"]
    assert "Sentence 79" not in request.messages[-1]["content"]


def test_cut_to_student_off_keeps_the_character_cut(tmp_path):
    seen = _seen_passages(tmp_path, cut_to_student=False)
    assert len(seen["long"]) > 1500 and len(seen["long"]) <= 2048
