"""``corpusfit ingest``: normalize a corpus, drop near-duplicates, hold out and sample passages."""

from __future__ import annotations

import argparse

HELP = "normalize a corpus, find near-duplicates, choose held-out and sampled passages"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli.flags import add_corpus, add_out, add_stage_options, config_flag, key_flag
    from corpusfit.data.chunking import ChunkConfig
    from corpusfit.data.ingest import IngestConfig

    add_corpus(p, "corpus: BEIR folder, corpus.jsonl[.gz], TSV file or folder of documents "
                  "(.txt/.md; .html/.pdf/.docx... with corpusfit[docs])")
    add_out(p)
    add_stage_options(p, "ingest")
    config_flag(p, IngestConfig, "sample", help="passages sampled (default: all)")
    config_flag(p, IngestConfig, "heldout_fraction", help="seeded share of passages held out "
                                                          "of training")
    config_flag(p, IngestConfig, "heldout_file")
    config_flag(p, IngestConfig, "seed", help="seed of the held-out split and the sample")
    key_flag(p, "--no-dedup", "dedup", action="store_const", const=False,
             help="keep near-duplicate passages")
    config_flag(p, ChunkConfig, "mode", flag="--chunk", key="chunk.mode")
    config_flag(p, ChunkConfig, "max_tokens", flag="--chunk-tokens", key="chunk.max_tokens",
                metavar="N")
    config_flag(p, ChunkConfig, "overlap", flag="--chunk-overlap", key="chunk.overlap",
                metavar="N")
    p.add_argument("--student", default="minilm", help="the model whose tokens size the "
                   "passages (train.student in a run; default: minilm)")


def main(args: argparse.Namespace) -> int:
    from corpusfit.cli.flags import stage_config
    from corpusfit.stages.ingest import run_ingest

    counts = run_ingest(stage_config(args, "ingest"), args.corpus, args.out, force=args.force,
                        student=args.student)
    print(f"documents {counts['documents']}  passages {counts.get('passages')}  "
          f"split {counts.get('documents_split', 0)}  over max length "
          f"{counts.get('over_max_length')}  near-duplicates {counts['duplicates']}  "
          f"empty {counts['empty']}  held out {counts['heldout']}  sampled {counts['sampled']}")
    if counts.get("files_failed"):
        print(f"files that could not be read: {counts['files_failed']} "
              f"{counts['failed_by_format']} (named in {args.out}/manifest.json)")
    print(f"written to {args.out}")
    return 0
