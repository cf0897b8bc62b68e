"""``corpusfit mine``: candidate passages for synthetic queries from fused retrievers."""

from __future__ import annotations

import argparse

HELP = "retrieve and fuse candidate passages for synthetic queries (candidates.jsonl)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli.flags import add_out, add_stage_options, config_flag, key_flag, renamed
    from corpusfit.retrieve.mine import MineConfig

    p.add_argument("--queries", required=True, help="queries.jsonl from `corpusfit generate`")
    p.add_argument("--corpus", required=True, help="corpus (BEIR folder/jsonl, TSV, text folder)")
    add_out(p)
    add_stage_options(p, "mine")
    config_flag(p, MineConfig, "retrievers", flag="--retriever", metavar="SPEC",
                help="bm25 or a dense model name/folder; repeatable")
    renamed(p, "--heldout-file", "--heldout", help="file of held-out passage ids (one per line)")
    p.add_argument("--duplicates",
                   help="duplicate passage ids: one per line, or ingest's duplicates.jsonl")
    config_flag(p, MineConfig, "depth", metavar="N")
    config_flag(p, MineConfig, "rrf_k", metavar="K")
    key_flag(p, "--no-round-trip", "round_trip", action="store_const", const=False,
             help="keep every query, also those whose source passage no retriever finds")
    p.add_argument("--cache-dir", help="embedding cache folder")
    p.add_argument("--shard", help="I/N: mine every N-th query from the I-th (0-based)")
    p.add_argument("--merge", type=int, metavar="N", help="join N finished shards")


def main(args: argparse.Namespace) -> int:
    from corpusfit.cli.flags import stage_config
    from corpusfit.stages.base import parse_shard
    from corpusfit.stages.mine import merge_mine, run_mine

    config = stage_config(args, "mine")
    io = {"heldout": args.heldout_file, "duplicates": args.duplicates}
    if args.merge:
        result = merge_mine(config, args.queries, args.corpus, args.out, args.merge, **io)
    else:
        shard = parse_shard(args.shard) if args.shard else None
        result = run_mine(config, args.queries, args.corpus, args.out, cache_dir=args.cache_dir,
                          shard=shard, force=args.force, **io)
    if result.skipped:
        print(f"{args.out} is up to date (use --force to redo)")
    for key, value in result.counts.items():
        print(f"  {key:>24}: {value}")
    if not args.shard:
        print(f"wrote {result.candidates_path}")
    return 0
