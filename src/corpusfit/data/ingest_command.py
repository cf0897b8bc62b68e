"""``corpusfit ingest``: normalize a corpus, drop near-duplicates, hold out and sample passages."""

from __future__ import annotations

import argparse

HELP = "normalize a corpus, find near-duplicates, choose held-out and sampled passages"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True,
                   help="corpus: BEIR folder, corpus.jsonl, TSV file or folder of .txt/.md")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--sample", type=int, default=None, help="passages sampled (default: all)")
    p.add_argument("--heldout-fraction", type=float, default=None,
                   help="seeded share of passages held out of training")
    p.add_argument("--heldout-file", default=None, help="file of held-out ids, one per line")
    p.add_argument("--no-dedup", action="store_true", help="keep near-duplicate passages")
    p.add_argument("--seed", type=int, default=None, help="seed of the held-out split and sample")


def config_from_args(args: argparse.Namespace):
    """An IngestConfig with only the options given on the command line overridden."""
    from pydantic import ValidationError

    from corpusfit.data.ingest import IngestConfig
    from corpusfit.errors import ConfigError, describe_validation

    given = {"sample": args.sample, "heldout_fraction": args.heldout_fraction,
             "heldout_file": args.heldout_file, "seed": args.seed}
    values = {k: v for k, v in given.items() if v is not None}
    if getattr(args, "no_dedup", False):
        values["dedup"] = False
    try:
        return IngestConfig(**values)
    except ValidationError as e:
        raise ConfigError(f"ingest: {describe_validation(e)}") from None


def main(args: argparse.Namespace) -> int:
    from corpusfit.stages.ingest import run_ingest

    counts = run_ingest(config_from_args(args), args.data, args.out)
    print(f"documents {counts['documents']}  near-duplicates {counts['duplicates']}  "
          f"empty {counts['empty']}  held out {counts['heldout']}  sampled {counts['sampled']}")
    print(f"written to {args.out}")
    return 0
