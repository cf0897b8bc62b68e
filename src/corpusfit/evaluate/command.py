"""``corpusfit eval``: evaluate retrievers on a BEIR collection."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from corpusfit.retrieve.settings import RetrievalSettings

HELP = "evaluate retrievers (bm25, models, rrf:A+B, run files) on BEIR test data"

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True,
                   help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    p.add_argument("--retriever", action="append", required=True, metavar="SPEC",
                   help="bm25 | model name, folder or hub id | rrf:A+B | run file; repeatable")
    p.add_argument("--split", help="qrels split (default: test)")
    p.add_argument("--output", help="folder for run files and metrics.json")
    defaults = RetrievalSettings()
    p.add_argument("--depth", type=int, help=f"documents retrieved per query (default "
                                             f"{defaults.depth}, at least 100)")
    p.add_argument("--rrf-k", type=int, help=f"RRF constant k (default {defaults.rrf_k})")
    p.add_argument("--cache-dir", default=None,
                   help="embedding cache folder (default: OUTPUT/cache when --output is given)")
    p.add_argument("--baseline", default=None, metavar="SPEC",
                   help="significance of every retriever against this one (default: the first)")


def config_from_args(args: argparse.Namespace):
    """The evaluate section's model from the flags: its defaults and bounds, nothing of its own."""
    from pydantic import ValidationError

    from corpusfit.errors import ConfigError, describe_validation
    from corpusfit.evaluate.stage import EvaluateConfig

    given = {"depth": args.depth, "rrf_k": args.rrf_k, "split": args.split}
    try:
        return EvaluateConfig.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as e:
        raise ConfigError(f"eval: {describe_validation(e)}") from None


def main(args: argparse.Namespace) -> int:
    from corpusfit.data.readers import load_beir
    from corpusfit.evaluate.harness import Harness
    from corpusfit.evaluate.results import evaluate_runs, print_results, save_results

    config = config_from_args(args)
    data = load_beir(args.data, config.split)
    logger.info("%s: %d documents, %d judged queries", args.data, len(data.corpus),
                len(data.queries))
    cache = args.cache_dir or (str(Path(args.output) / "cache") if args.output else None)
    harness = Harness(data, config.retrieval(cache))
    runs = {spec: harness.run(spec) for spec in args.retriever}
    results = evaluate_runs(data.qrels, runs, baseline=args.baseline or args.retriever[0])
    print_results(results)
    if args.output:
        save_results(Path(args.output), runs, results)
        print(f"\nrun files and metrics.json written to {args.output}")
    return 0
