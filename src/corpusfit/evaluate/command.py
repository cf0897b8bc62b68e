"""``corpusfit eval``: evaluate retrievers on a BEIR collection."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

HELP = "evaluate retrievers (bm25, models, rrf:A+B, run files) on BEIR test data"

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli_flags import add_out, config_flag, renamed
    from corpusfit.evaluate.stage import EvaluateConfig

    # --test-data, as the config key: --data is the corpus in ingest and generate.
    g = p.add_mutually_exclusive_group(required=True)
    renamed(g, "--test-data", "--data", metavar="BEIR_FOLDER",
            help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    p.add_argument("--retriever", action="append", required=True, metavar="SPEC",
                   help="bm25 | model name, folder or hub id | rrf:A+B | run file; repeatable")
    config_flag(p, EvaluateConfig, "split")
    add_out(p, "folder for run files, metrics.json and per_query.json", required=False)
    config_flag(p, EvaluateConfig, "depth", metavar="N", help="documents retrieved per query "
                                                             "(at least 100)")
    config_flag(p, EvaluateConfig, "rrf_k", metavar="K")
    config_flag(p, EvaluateConfig, "trust_remote_code", action="store_true")
    p.add_argument("--cache-dir", default=None,
                   help="embedding cache folder (default: OUT/cache when --out is given)")
    p.add_argument("--baseline", default=None, metavar="SPEC",
                   help="significance of every retriever against this one (default: the first)")
    p.add_argument("--update-card", action="store_true",
                   help="write these numbers into the model card (README.md, model-index) of "
                        "every corpusfit model folder evaluated, as the pipeline's evaluate "
                        "stage does")


def config_from_args(args: argparse.Namespace):
    """The evaluate section's model from the flags: its defaults and bounds, nothing of its own."""
    from pydantic import ValidationError

    from corpusfit.cli_flags import config_values
    from corpusfit.errors import ConfigError, describe_validation
    from corpusfit.evaluate.stage import EvaluateConfig

    try:
        return EvaluateConfig.model_validate(config_values(args, EvaluateConfig))
    except ValidationError as e:
        raise ConfigError(f"eval: {describe_validation(e)}") from None


def main(args: argparse.Namespace) -> int:
    from corpusfit.data.readers import load_beir
    from corpusfit.evaluate.harness import Harness
    from corpusfit.evaluate.results import evaluate_runs, print_results, save_results

    config = config_from_args(args)
    data = load_beir(args.test_data, config.split)
    logger.info("%s: %d documents, %d judged queries", args.test_data, len(data.corpus),
                len(data.queries))
    cache = args.cache_dir or (str(Path(args.out) / "cache") if args.out else None)
    harness = Harness(data, config.retrieval(cache))
    runs = {spec: harness.run(spec) for spec in args.retriever}
    results = evaluate_runs(data.qrels, runs, baseline=args.baseline or args.retriever[0])
    print_results(results)
    if args.update_card:
        update_cards(results, args.test_data, config.split)
    if args.out:
        save_results(Path(args.out), runs, results)
        print(f"\nrun files and metrics.json written to {args.out}")
    return 0


def update_cards(results: dict, test_data: str, split: str) -> list[str]:
    """Record ``results`` in the card of every evaluated corpusfit model folder, as the
    evaluate stage does (the baseline, listed first there, is left alone)."""
    from corpusfit.train.card import record_evaluation

    baseline = results["baseline"]
    models = {baseline: baseline, **{s: s for s in results["retrievers"] if s != baseline}}
    updated = record_evaluation(models, {**results, "test_data": str(test_data), "split": split})
    print(f"model cards updated: {', '.join(updated) or 'none (no corpusfit model folder)'}")
    return updated
