"""``corpusfit mine``: candidate passages for synthetic queries from fused retrievers."""

from __future__ import annotations

import argparse

HELP = "retrieve and fuse candidate passages for synthetic queries (candidates.jsonl)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--queries", required=True, help="queries.jsonl from `corpusfit generate`")
    p.add_argument("--corpus", required=True, help="corpus (BEIR folder/jsonl, TSV, text folder)")
    p.add_argument("--output", required=True, help="output folder")
    p.add_argument("--retriever", action="append", metavar="SPEC",
                   help="bm25 or a dense model name/folder; repeatable (default: minilm, bm25)")
    p.add_argument("--heldout", help="file of held-out passage ids (one per line)")
    p.add_argument("--duplicates", help="file of duplicate passage ids (one per line)")
    p.add_argument("--depth", type=int, help="top-k per retriever (default 100)")
    p.add_argument("--rrf-k", type=int, help="RRF constant (default 60)")
    p.add_argument("--no-round-trip", action="store_true", help="keep every query")
    p.add_argument("--cache-dir", help="embedding cache folder")
    p.add_argument("--shard", help="I/N: mine every N-th query from the I-th (0-based)")
    p.add_argument("--merge", type=int, metavar="N", help="join N finished shards")
    p.add_argument("--force", action="store_true", help="redo even if up to date")


def main(args: argparse.Namespace) -> int:
    from corpusfit.retrieve.mine import MineConfig
    from corpusfit.stages.base import parse_shard
    from corpusfit.stages.mine import merge_mine, run_mine

    updates = {"retrievers": args.retriever, "depth": args.depth, "rrf_k": args.rrf_k}
    config = MineConfig.model_validate({k: v for k, v in updates.items() if v is not None})
    if args.no_round_trip:
        config = config.model_copy(update={"round_trip": False})
    io = {"heldout": args.heldout, "duplicates": args.duplicates}
    if args.merge:
        result = merge_mine(config, args.queries, args.corpus, args.output, args.merge, **io)
    else:
        shard = parse_shard(args.shard) if args.shard else None
        result = run_mine(config, args.queries, args.corpus, args.output, cache_dir=args.cache_dir,
                          shard=shard, force=args.force, **io)
    if result.skipped:
        print(f"{args.output} is up to date (use --force to redo)")
    for key, value in result.counts.items():
        print(f"  {key:>24}: {value}")
    if not args.shard:
        print(f"wrote {result.candidates_path}")
    return 0
