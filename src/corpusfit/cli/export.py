"""``corpusfit export``: the label stage's lists written in other trainers' formats
(:mod:`corpusfit.teach.list_formats`; the model folder itself is already a
sentence-transformers folder and needs no export)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = ("export teacher-scored lists.jsonl as sentence-transformers, FlagEmbedding or BEIR "
        "files")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.teach.list_formats import FORMATS

    p.add_argument("--lists", required=True, help="lists.jsonl from the label stage")
    p.add_argument("--corpus", help="corpus the lists refer to (default: found next to LISTS)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", required=True, choices=[*FORMATS, "all"],
                   help="sentence-transformers (query, positive, negative_1..n, scores), "
                        "flagembedding ({query, pos, neg, pos_scores, neg_scores}), beir "
                        "(queries, qrels, corpus), or all (one subfolder each)")
    p.add_argument("--negatives", type=int,
                   help="sentence-transformers: negative columns per row (default: as many "
                        "as the shortest list has); shorter lists are left out")
    p.add_argument("--raw-scores", action="store_true",
                   help="the teacher's raw scores instead of the normalized [0, 1] ones")


def main(args: argparse.Namespace) -> int:
    from corpusfit.cli.train import find_corpus
    from corpusfit.errors import ConfigError
    from corpusfit.teach.list_formats import FORMATS, ListFormatOptions, write_list_formats

    if args.negatives is not None and args.negatives < 1:
        raise ConfigError(f"--negatives must be >= 1, got {args.negatives}")
    lists = Path(args.lists)
    corpus = Path(args.corpus) if args.corpus else find_corpus(lists)
    opts = ListFormatOptions(negatives=args.negatives, raw_scores=args.raw_scores)
    formats = FORMATS if args.format == "all" else (args.format,)
    out = Path(args.out)
    report = {fmt: write_list_formats(lists, corpus, out / fmt if len(formats) > 1 else out,
                                      fmt, opts) for fmt in formats}
    print(json.dumps({"out": str(out), **report}, indent=2))
    return 0
