"""The mine stage: candidate passages for every synthetic query.

Each configured retriever (dense model folders, ``bm25``) takes its top-k
over the corpus minus held-out and duplicate passages; the runs are fused
with reciprocal rank fusion. The round-trip filter keeps a query only when
its own source passage is in some retriever's top ``round_trip_depth``: a
query that no retriever connects back to its passage is usually too vague
or wrong to teach with.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from corpusfit.data.artifacts import (
    Candidates,
    SyntheticQuery,
    artifact_file,
    load_artifact,
    write_artifact,
)
from corpusfit.data.ids import read_id_file
from corpusfit.data.schema import Document
from corpusfit.errors import ConfigError, DataError
from corpusfit.fields import runtime_only
from corpusfit.precision import Precision
from corpusfit.retrieve.fusion import rrf
from corpusfit.retrieve.retrievers import Retrievers
from corpusfit.retrieve.settings import (
    Bm25Language,
    EncodeDevices,
    RetrievalSettings,
    setting,
)
from corpusfit.retrieve.specs import spec_name
from corpusfit.retrieve.trec import TrecRun, ranked
from corpusfit.workspace import fingerprint_matches, read_json, write_json

logger = logging.getLogger(__name__)

CANDIDATES = artifact_file("candidates")


class MineConfig(BaseModel):
    """mine: candidate passages per synthetic query from several retrievers, fused."""

    model_config = ConfigDict(extra="forbid")

    retrievers: list[str] = Field(default_factory=lambda: ["minilm", "bm25"], min_length=1,
                                  description="'bm25' or dense model short names/folders")
    depth: StrictInt = Field(100, ge=1, description="top-k taken from each retriever")
    rrf_k: StrictInt = setting("rrf_k")
    fused_depth: StrictInt = Field(100, ge=1, description="fused candidates kept per query")
    round_trip: bool = Field(True, description="keep a query only if its source passage is "
                                               "in some retriever's top round_trip_depth")
    round_trip_depth: StrictInt = Field(20, ge=1, description="depth of the round-trip filter")
    bm25_language: Bm25Language = setting("bm25_language")
    bm25_stem: bool = setting("bm25_stem")
    # auto, unlike evaluation: candidates only need a good order, not fp32-exact vectors.
    precision: Precision = runtime_only("auto", description="dense encoding of the "
                                        "candidates: auto = bf16 autocast where the hardware "
                                        "has bf16 dot products, else fp32")
    trust_remote_code: bool = setting("trust_remote_code")
    encode_devices: EncodeDevices = setting("encode_devices")


def retriever_runs(specs: list[str], queries: list[SyntheticQuery], docs: dict[str, Document],
                   depth: int, cache_dir: str | None, precision: Precision = "fp32",
                   trust_remote_code: bool = False, encode_devices: EncodeDevices = "auto",
                   **bm25: object) -> dict[str, TrecRun]:
    """name -> run (qid -> doc -> score) of every retriever over ``docs``; ``bm25`` holds
    ``bm25_language`` / ``bm25_stem`` when given."""
    ids = list(docs)
    retrievers = Retrievers(ids, [docs[d].full_text() for d in ids],
                            [q.qid for q in queries], [q.query for q in queries],
                            RetrievalSettings(depth=depth, cache_dir=cache_dir,
                                              precision=precision,
                                              trust_remote_code=trust_remote_code,
                                              encode_devices=encode_devices, **bm25))
    runs: dict[str, TrecRun] = {}
    for spec in specs:
        name = spec_name(spec)
        if name in runs:
            raise ConfigError(f"mine.retrievers: '{spec}' appears twice")
        runs[name] = retrievers.run(spec)
    return runs


def rank_maps(runs: dict[str, TrecRun]) -> dict[str, dict[str, dict[str, int]]]:
    """name -> qid -> doc -> 1-based rank."""
    return {name: {q: {d: r for r, (d, _) in enumerate(ranked(docs), start=1)}
                   for q, docs in run.items()} for name, run in runs.items()}


def build_candidates(queries: list[SyntheticQuery], runs: dict[str, TrecRun], config: MineConfig,
                     docs: dict[str, Document]) -> tuple[list[Candidates], dict[str, int]]:
    """Round-trip filter and fusion; returns Candidates records and counts."""
    ranks = rank_maps(runs)
    fused = rrf(list(runs.values()), k=config.rrf_k)
    counts = {"queries": len(queries), "source_unavailable": 0, "round_trip_dropped": 0}
    for name in runs:
        counts[f"source_in_top{config.round_trip_depth}_{name}"] = 0
    records = []
    for q in queries:
        if q.source_id not in docs:
            counts["source_unavailable"] += 1  # held out or removed as a duplicate
            continue
        hit = False
        for name in runs:
            r = ranks[name].get(q.qid, {}).get(q.source_id)
            if r is not None and r <= config.round_trip_depth:
                counts[f"source_in_top{config.round_trip_depth}_{name}"] += 1
                hit = True
        if config.round_trip and not hit:
            counts["round_trip_dropped"] += 1
            continue
        top = ranked(fused.get(q.qid, {}), config.fused_depth)
        doc_ids = [d for d, _ in top]
        records.append(Candidates(
            qid=q.qid, query=q.query, type=q.type, source_id=q.source_id,
            doc_ids=doc_ids, rrf_scores=[float(s) for _, s in top],
            ranks={name: [ranks[name].get(q.qid, {}).get(d) for d in doc_ids]
                   for name in runs}))
    counts["written"] = len(records)
    return records, counts


def _shard_paths(out_dir: Path, shard: tuple[int, int]) -> tuple[Path, Path]:
    tag = f"shard-{shard[0]}-of-{shard[1]}"
    return out_dir / "shards" / f"candidates.{tag}.jsonl", out_dir / "shards" / f"{tag}.json"


def excluded_ids(heldout: str | Path | None, duplicates: str | Path | None) -> set[str]:
    """Passages never to retrieve: held-out ids and duplicates (id files, see
    :func:`~corpusfit.data.ids.read_id_file`)."""
    return {i for path in (heldout, duplicates) if path is not None
            for i in read_id_file(path)}


def mine_candidates(config: MineConfig, queries: str | Path, corpus: str | Path,
                    out_dir: str | Path, *, fingerprint: dict,
                    heldout: str | Path | None = None, duplicates: str | Path | None = None,
                    cache_dir: str | Path | None = None,
                    shard: tuple[int, int] | None = None) -> dict[str, int]:
    """Mine candidates for ``queries.jsonl`` into ``candidates.jsonl``; returns the counts.

    Args:
        config: the mine config.
        queries: ``queries.jsonl`` of the generate stage.
        corpus: corpus path (any format :func:`load_corpus` reads).
        out_dir: output folder.
        fingerprint: the mine stage's fingerprint, recorded with each shard.
        heldout, duplicates: passage ids never to retrieve (see :func:`excluded_ids`).
        cache_dir: embedding cache (default ``out_dir/emb-cache``).
        shard: ``(i, n)``: mine only every n-th query from the i-th into
            ``shards/``; :func:`merge_shards` joins the n slices.
    """
    from corpusfit.data.readers import load_corpus

    out_dir = Path(out_dir)
    qs = load_artifact(queries, SyntheticQuery)
    if shard is not None:
        qs = [q for k, q in enumerate(qs) if k % shard[1] == shard[0]]
    excluded = excluded_ids(heldout, duplicates)
    all_docs = load_corpus(corpus)
    docs = {d: doc for d, doc in all_docs.items() if d not in excluded}
    logger.info("mine: %d queries, %d passages (%d held out or duplicate)", len(qs), len(docs),
                len(all_docs) - len(docs))
    if not qs:  # a retriever over zero queries fails deep inside; say why here
        raise DataError(queries, None, "no queries to mine" + (f" in shard {shard[0]}/"
                                                               f"{shard[1]}" if shard else ""))
    if not docs:
        raise DataError(corpus, None, "no passage left once held-out and duplicate passages "
                                      "are excluded")
    runs = retriever_runs(config.retrievers, qs, docs, config.depth,
                          str(cache_dir or out_dir / "emb-cache"), config.precision,
                          config.trust_remote_code, config.encode_devices,
                          bm25_language=config.bm25_language, bm25_stem=config.bm25_stem)
    records, counts = build_candidates(qs, runs, config, docs)
    counts["passages"], counts["excluded_passages"] = len(docs), len(all_docs) - len(docs)
    if shard is not None:
        data_path, info_path = _shard_paths(out_dir, shard)
        write_artifact(data_path, records)
        write_json(info_path, {**fingerprint, "counts": counts})  # last: the slice is done
        return counts
    write_artifact(out_dir / CANDIDATES, records)
    return counts


def merge_shards(queries: str | Path, out_dir: str | Path, n_shards: int,
                 fingerprint: dict) -> dict[str, int]:
    """Join the ``n_shards`` slices of :func:`mine_candidates` into ``candidates.jsonl``."""
    out_dir = Path(out_dir)
    parts, counts = [], {}
    for i in range(n_shards):
        data_path, info_path = _shard_paths(out_dir, (i, n_shards))
        info = read_json(info_path) if info_path.exists() else None
        if info is None or not fingerprint_matches(info, fingerprint):
            raise ConfigError(f"mine shard {i}/{n_shards} is missing or was made with another "
                              f"config or inputs ({info_path})")
        parts.append(load_artifact(data_path, Candidates))
        for k, v in info["counts"].items():
            counts[k] = v if k in ("passages", "excluded_passages") else counts.get(k, 0) + v
    order = {q.qid: k for k, q in enumerate(load_artifact(queries, SyntheticQuery))}
    merged = sorted((c for part in parts for c in part), key=lambda c: order.get(c.qid, 0))
    write_artifact(out_dir / CANDIDATES, merged)
    return counts
