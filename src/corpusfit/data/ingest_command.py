"""``corpusfit ingest``: normalize a corpus, drop near-duplicates, hold out and sample passages."""

from __future__ import annotations

import argparse

HELP = "normalize a corpus, find near-duplicates, choose held-out and sampled passages"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli_flags import add_corpus, add_out, config_flag
    from corpusfit.data.chunking import ChunkConfig
    from corpusfit.data.ingest import IngestConfig

    add_corpus(p, "corpus: BEIR folder, corpus.jsonl[.gz], TSV file or folder of documents "
                  "(.txt/.md; .html/.pdf/.docx... with corpusfit[docs])")
    add_out(p)
    config_flag(p, IngestConfig, "sample", help="passages sampled (default: all)")
    config_flag(p, IngestConfig, "heldout_fraction", help="seeded share of passages held out "
                                                          "of training")
    config_flag(p, IngestConfig, "heldout_file")
    config_flag(p, IngestConfig, "seed", help="seed of the held-out split and the sample")
    p.add_argument("--no-dedup", action="store_true", help="keep near-duplicate passages")
    config_flag(p, ChunkConfig, "mode", flag="--chunk")
    config_flag(p, ChunkConfig, "max_tokens", flag="--chunk-tokens", metavar="N")
    config_flag(p, ChunkConfig, "overlap", flag="--chunk-overlap", metavar="N")
    p.add_argument("--student", default="minilm", help="the model whose tokens size the "
                   "passages (train.student in a run; default: minilm)")


def config_from_args(args: argparse.Namespace):
    """An IngestConfig with only the options given on the command line overridden."""
    from pydantic import ValidationError

    from corpusfit.cli_flags import config_values
    from corpusfit.data.chunking import ChunkConfig
    from corpusfit.data.ingest import IngestConfig
    from corpusfit.errors import ConfigError, describe_validation

    values = config_values(args, IngestConfig)
    values.pop("chunk", None)
    if getattr(args, "no_dedup", False):
        values["dedup"] = False
    chunk = config_values(args, ChunkConfig)
    if chunk:
        values["chunk"] = chunk
    try:
        return IngestConfig(**values)
    except ValidationError as e:
        raise ConfigError(f"ingest: {describe_validation(e)}") from None


def main(args: argparse.Namespace) -> int:
    from corpusfit.stages.ingest import run_ingest

    counts = run_ingest(config_from_args(args), args.corpus, args.out,
                        student=getattr(args, "student", "minilm"))
    print(f"documents {counts['documents']}  passages {counts.get('passages')}  "
          f"split {counts.get('documents_split', 0)}  over max length "
          f"{counts.get('over_max_length')}  near-duplicates {counts['duplicates']}  "
          f"empty {counts['empty']}  held out {counts['heldout']}  sampled {counts['sampled']}")
    if counts.get("files_failed"):
        print(f"files that could not be read: {counts['files_failed']} "
              f"{counts['failed_by_format']} (named in {args.out}/manifest.json)")
    print(f"written to {args.out}")
    return 0
