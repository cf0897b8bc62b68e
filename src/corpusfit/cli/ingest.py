"""``corpusfit ingest``: normalize a corpus, drop near-duplicates, hold out and sample passages."""

from __future__ import annotations

import argparse

HELP = "normalize a corpus, find near-duplicates, choose held-out and sampled passages"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli.flags import add_corpus, add_out, config_flag
    from corpusfit.data.ingest import IngestConfig

    add_corpus(p, "corpus: BEIR folder, corpus.jsonl, TSV file or folder of .txt/.md")
    add_out(p)
    config_flag(p, IngestConfig, "sample", help="passages sampled (default: all)")
    config_flag(p, IngestConfig, "heldout_fraction", help="seeded share of passages held out "
                                                          "of training")
    config_flag(p, IngestConfig, "heldout_file")
    config_flag(p, IngestConfig, "seed", help="seed of the held-out split and the sample")
    p.add_argument("--no-dedup", action="store_true", help="keep near-duplicate passages")


def config_from_args(args: argparse.Namespace):
    """An IngestConfig with only the options given on the command line overridden."""
    from pydantic import ValidationError

    from corpusfit.cli.flags import config_values
    from corpusfit.data.ingest import IngestConfig
    from corpusfit.errors import ConfigError, describe_validation

    values = config_values(args, IngestConfig)
    if getattr(args, "no_dedup", False):
        values["dedup"] = False
    try:
        return IngestConfig(**values)
    except ValidationError as e:
        raise ConfigError(f"ingest: {describe_validation(e)}") from None


def main(args: argparse.Namespace) -> int:
    from corpusfit.stages.ingest import run_ingest

    counts = run_ingest(config_from_args(args), args.corpus, args.out)
    print(f"documents {counts['documents']}  near-duplicates {counts['duplicates']}  "
          f"empty {counts['empty']}  held out {counts['heldout']}  sampled {counts['sampled']}")
    print(f"written to {args.out}")
    return 0
