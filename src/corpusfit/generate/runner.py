"""The generate stage: one synthetic query (or one rejection) per (passage, type).

Results are appended in flushed batches to ``queries.jsonl`` and ``rejected.jsonl``;
a rerun (also after ``kill -9``) reads both files, skips every (passage, type)
already recorded and continues. A server that is unreachable (or refuses every request)
rejects nothing: its pairs stay pending, the stage stops with an error naming how many,
and a rerun sends exactly those; ``backend_error`` records of earlier versions are tried
again too. A stage that ends with no accepted query is an error, not an empty output.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from corpusfit.data.artifacts import RejectedQuery, SyntheticQuery, validate_record
from corpusfit.data.chunking import PassageTokens
from corpusfit.data.ids import read_id_file
from corpusfit.data.readers import load_corpus
from corpusfit.errors import CorpusfitError, DataError
from corpusfit.generate.backends.base import Backend, Completion, Request
from corpusfit.generate.cleaning import Cleaned, clean_output, duplicate_key
from corpusfit.generate.config import GenerateConfig
from corpusfit.generate.prompts import (
    ExampleGroup,
    build_messages,
    build_shared_messages,
    cut_passage,
    derived_seed,
    draw_block,
    example_groups,
)
from corpusfit.generate.state import positions, reconcile, run_state
from corpusfit.generate.stats import GenerateSummary, summarize
from corpusfit.generate.store import open_backend
from corpusfit.generate.types import QueryType, resolve_types
from corpusfit.workspace import JsonlAppender, config_hash, iter_jsonl_numbered, write_jsonl

logger = logging.getLogger(__name__)

QUERIES = "queries.jsonl"
REJECTED = "rejected.jsonl"

Key = tuple[str, str]  # (source_id, type)


class BackendUnavailable(CorpusfitError):
    """The server stopped answering; finished pairs are kept and a rerun continues."""


class NoQueriesAccepted(CorpusfitError):
    """Every pair was rejected: nothing for the next stage to work with."""


def query_id(source_id: str, qtype: str) -> str:
    """Deterministic qid: one query per (passage, type)."""
    return f"{source_id}@{qtype}"


@dataclass
class _Session:
    """What one run of the stage needs while it generates."""

    config: GenerateConfig
    backend: Backend
    types: dict[str, QueryType]
    passages: dict[str, str]
    seen: dict[str, set[str]]
    order: dict[str, int] = field(default_factory=dict)  # passage -> position in sampled
    groups: list[ExampleGroup] = field(default_factory=list)
    retried: Counter = field(default_factory=Counter)
    generations: int = 0
    outage: tuple[str, str] | None = None  # (why, last error) when the server failed
    finished: int = 0  # pairs recorded in this run


def load_passages(ingest_dir: Path, tokens: PassageTokens | None = None,
                  ids_file: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """Sampled passages as the student encodes them (cut to ``tokens``' length if given).

    ``ids_file`` names other passages of the ingest corpus than ``sampled.txt`` (the
    held-out probe passages of :mod:`corpusfit.stages.probe`).
    """
    corpus_path = ingest_dir / "corpus.jsonl"
    sampled_path = ids_file or ingest_dir / "sampled.txt"
    if not sampled_path.exists():
        raise DataError(sampled_path, None, "not found (run the ingest stage first)")
    corpus = load_corpus(corpus_path)
    sampled = read_id_file(sampled_path, corpus)
    texts = {i: corpus[i].full_text() for i in sampled}
    if tokens is not None:
        texts = {i: tokens.cut(t) for i, t in texts.items()}
    return texts, sampled


def cut_changes(whole: dict[str, str], cut: dict[str, str]) -> list[tuple[str, int]]:
    """(passage id, length as cut) of every passage the cut shortened."""
    return sorted((i, len(cut[i])) for i in whole if cut[i] != whole[i])


def _read_done(out: Path, wanted: set[Key]) -> tuple[set[Key], dict[str, set[str]]]:
    """Keys already recorded and, per type, the duplicate keys of accepted queries.

    Records of passages no longer sampled are pruned so each file keeps exactly
    one record per wanted (passage, type).
    """
    done: set[Key] = set()
    seen: dict[str, set[str]] = {}
    for name, record in ((QUERIES, SyntheticQuery), (REJECTED, RejectedQuery)):
        kept, dropped = [], 0
        for line, raw in iter_jsonl_numbered(out / name, appended=True):
            rec = validate_record(out / name, line, raw, record).model_dump()
            key = (rec["source_id"], rec["type"])
            # A backend error says nothing about the query (older versions stored outages
            # so): it is tried again.
            if key not in wanted or key in done or rec.get("reason") == "backend_error":
                dropped += 1
                continue
            done.add(key)
            kept.append(rec)
            if name == QUERIES:
                seen.setdefault(rec["type"], set()).add(duplicate_key(rec["query"]))
        if dropped:
            logger.info("generate: pruning %d stale records from %s", dropped, name)
            write_jsonl(out / name, kept)
    return done, seen


def _example_text(request: Request) -> str:
    """The few-shot turns of a request (all but the system line and the final question)."""
    return " ".join(m["content"] for m in request.messages[1:-1])


Judged = SyntheticQuery | RejectedQuery


def _judge(s: _Session, req: Request, comp: Completion, attempt: int) -> Judged:
    """The accepted query or the rejection of one completion."""
    source_id, tname = req.source_id, req.type
    base = {"source_id": source_id, "type": tname, "model": s.backend.model_name,
            "backend": s.backend.name, "attempts": attempt + 1}
    if comp.text is None:
        return RejectedQuery(**base, reason="backend_error", raw=comp.error or "")
    cleaned = clean_output(comp.text, s.types[tname], s.passages[source_id], _example_text(req))
    if cleaned.text is not None and duplicate_key(cleaned.text) in s.seen.get(tname, set()):
        cleaned = Cleaned(None, "duplicate")
    if cleaned.text is None:
        return RejectedQuery(**base, reason=cleaned.reason, raw=comp.text)
    s.seen.setdefault(tname, set()).add(duplicate_key(cleaned.text))
    return SyntheticQuery(qid=query_id(source_id, tname), query=cleaned.text, **base)


def _messages(s: _Session, qtype: QueryType, source_id: str, passage: str) -> list[dict]:
    cfg = s.config
    if cfg.prompt == "per-passage":
        return build_messages(qtype, passage, source_id, k=cfg.fewshot, seed=cfg.seed,
                              max_chars=cfg.max_passage_chars)
    block = draw_block(s.groups, cfg.fewshot, cfg.seed, s.order[source_id] // cfg.fewshot_every)
    return build_shared_messages(qtype, passage, block)


def _request(s: _Session, key: Key, attempt: int) -> Request:
    source_id, tname = key
    cfg, qtype = s.config, s.types[key[1]]
    passage = cut_passage(s.passages[source_id], cfg.max_passage_chars)
    return Request(source_id, tname, _messages(s, qtype, source_id, passage),
                   derived_seed(cfg.seed, source_id, tname, attempt), passage,
                   max_new_tokens=qtype.max_new_tokens)


def _run_batch(s: _Session, keys: list[Key]) -> list[Judged]:
    """Final records for ``keys``: rejected outputs are resampled up to ``attempts`` times."""
    final: dict[Key, Judged] = {}
    pending = keys
    for attempt in range(s.config.attempts):
        requests = [_request(s, k, attempt) for k in pending]
        comps = s.backend.generate(requests, s.config.sampling)
        if len(comps) != len(pending):
            raise RuntimeError(f"backend {s.backend.name} returned {len(comps)} completions "
                               f"for {len(pending)} requests")
        s.generations += len(pending)
        retry = []
        for key, req, comp in zip(pending, requests, comps):
            s.retried["server_retry"] += comp.retries
            if comp.unavailable:  # the server failed, not the query: the pair stays pending
                s.outage = (comp.unavailable, comp.error or "no answer")
                final.pop(key, None)
                continue
            final[key] = judged = _judge(s, req, comp, attempt)
            if isinstance(judged, RejectedQuery):
                retry.append(key)
                if attempt + 1 < s.config.attempts:
                    s.retried[judged.reason] += 1
        pending = retry
        if s.outage and attempt + 1 < s.config.attempts:
            for key in pending:  # not through its attempts yet: pending, not rejected
                final.pop(key, None)
        if not pending or s.outage:
            break
    return [final[k] for k in keys if k in final]


def _check_outcome(s: _Session | None, out: Path, wanted: int, pending: int,
                   summary: GenerateSummary) -> None:
    """Stop the stage (no manifest) when the server stopped answering or nothing passed."""
    if s is not None and s.outage:
        left = pending - s.finished
        why, error = s.outage
        raise BackendUnavailable(f"generate: {why}: {left} of {wanted} pairs pending; "
                                 f"rerun to continue (last error: {error})")
    if summary.total_accepted == 0:
        reasons = ", ".join(f"{r} {n}" for r, n in
                            sum(summary.rejected.values(), Counter()).most_common()) or "none"
        raise NoQueriesAccepted(f"generate: no query accepted for {wanted} (passage, type) "
                                f"pairs (rejections: {reasons}); nothing to mine. See "
                                f"{out / REJECTED} and try another model or more attempts")


def batch_size(config: GenerateConfig, backend: Backend, pending: int) -> int:
    """Pairs per backend call: the config's, else the backend's ``batch_size`` attribute
    (``None``: all pending pairs; a backend without one: 10)."""
    size = config.batch_size or getattr(backend, "batch_size", 10)
    return max(1, size or pending)


def _generate_pending(s: _Session, out: Path, pending: list[Key], progress: bool) -> None:
    from tqdm.auto import tqdm

    accepted = finished = 0
    size = batch_size(s.config, s.backend, len(pending))
    bar = tqdm(total=len(pending), unit="q", desc="generate", disable=not progress)
    with JsonlAppender(out / QUERIES) as good, JsonlAppender(out / REJECTED) as bad:
        for i in range(0, len(pending), size):
            records = _run_batch(s, pending[i:i + size])
            for rec in records:
                rejected = isinstance(rec, RejectedQuery)
                (bad if rejected else good).add(rec.model_dump(mode="json"))
                accepted += not rejected
                finished += 1
            good.flush()
            bad.flush()
            s.finished = finished
            bar.update(len(records))
            bar.set_postfix(accept=f"{accepted / max(finished, 1):.0%}")
            if s.outage:
                break
    bar.close()


def _run_counts(s: _Session | None) -> dict:
    """This run's model calls: all, answered by the store, sent to the backend."""
    if s is None:
        return {}
    stored = getattr(s.backend, "hits", 0)
    return {"generations": s.generations, "retried": dict(s.retried), "stored": stored,
            "asked": getattr(s.backend, "misses", s.generations - stored)}


def generate_queries(config: GenerateConfig, ingest_dir: str | Path, out_dir: str | Path, *,
                     fingerprint: dict | None = None, force: bool = False,
                     progress: bool = True,
                     tokens: PassageTokens | None = None,
                     ids_file: Path | None = None) -> GenerateSummary:
    """Generate queries for the passages sampled by ingest, continuing earlier records.

    Records made under other settings, prompts or corpus (or any records when ``force``)
    are shelved, not deleted (:mod:`corpusfit.generate.state`), and every pair is asked
    again through the completion store (:mod:`corpusfit.generate.store`), which answers
    each unchanged request without the model. ``fingerprint`` (the stage's) only lends
    the corpus hash. ``tokens`` (the student's, when ``config.cut_to_student``) cuts each
    passage where the student's encoding stops. ``ids_file`` generates for other passages
    than ``sampled.txt`` (the probe passages). The generate stage
    (:mod:`corpusfit.stages.generate`) calls this when its folder is not up to date.
    """
    ingest_dir, out = Path(ingest_dir), Path(out_dir)
    types = {t.name: t for t in resolve_types(config.types, config.type_file)}
    passages, sampled = load_passages(ingest_dir, tokens, ids_file)
    corpus_hash = ((fingerprint or {}).get("inputs") or {}).get("corpus")
    whole = load_passages(ingest_dir, None, ids_file)[0] if tokens is not None else {}
    if tokens is not None and (changed := cut_changes(whole, passages)):
        # the records hold queries about the passages as cut: another cut is another state
        corpus_hash = f"{corpus_hash}+cut:{config_hash(changed)}"
    out.mkdir(parents=True, exist_ok=True)
    reconcile(out, run_state(config, list(types.values()), ingest_dir / "corpus.jsonl",
                             corpus_hash), force)
    order = positions(out, sampled)
    wanted = [(sid, t) for sid in sorted(sampled, key=order.__getitem__) for t in types]
    done, seen = _read_done(out, set(wanted))
    pending = [k for k in wanted if k not in done]
    logger.info("generate: %d passages x %d types, %d done, %d to go", len(sampled), len(types),
                len(done), len(pending))
    start = time.perf_counter()
    session = None
    if pending:
        session = _Session(config, open_backend(config), types, passages, seen, order=order,
                           groups=example_groups(list(types.values())))
        try:
            _generate_pending(session, out, pending, progress)
        finally:
            session.backend.close()
    seconds = time.perf_counter() - start
    summary = summarize(out / QUERIES, out / REJECTED, list(types), seconds=seconds,
                        new_records=len(pending), **_run_counts(session))
    _check_outcome(session, out, len(wanted), len(pending), summary)
    return summary
