"""``corpusfit eval``: evaluate retrievers on a BEIR collection."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "evaluate retrievers (bm25, models, rrf:A+B, run files) on BEIR test data"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli.flags import add_out, add_stage_options, config_flag, renamed
    from corpusfit.evaluate.stage import EvaluateConfig

    # --test-data, as the config key: --data is the corpus in ingest and generate.
    g = p.add_mutually_exclusive_group(required=True)
    renamed(g, "--test-data", "--data", metavar="BEIR_FOLDER",
            help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    p.add_argument("--retriever", action="append", required=True, metavar="SPEC",
                   help="bm25 | model name, folder or hub id | rrf:A+B | run file; repeatable")
    add_out(p, "folder for run files, metrics.json and per_query.json", required=False)
    add_stage_options(p, "evaluate", force="with --out: evaluate again even if OUT holds the "
                                            "results of the same retrievers and settings")
    config_flag(p, EvaluateConfig, "split")
    config_flag(p, EvaluateConfig, "depth", metavar="N", help="documents retrieved per query "
                                                             "(at least 100)")
    config_flag(p, EvaluateConfig, "rrf_k", metavar="K")
    config_flag(p, EvaluateConfig, "trust_remote_code", action="store_true")
    p.add_argument("--cache-dir", default=None,
                   help="embedding cache folder (default: OUT/cache when --out is given)")
    p.add_argument("--baseline", default=None, metavar="SPEC",
                   help="significance of every retriever against this one (default: the first)")
    add_chunk_flags(p)
    p.add_argument("--update-card", action="store_true",
                   help="write these numbers into the model card (README.md, model-index) of "
                        "every corpusfit model folder evaluated, as the pipeline's evaluate "
                        "stage does")


def config_from_args(args: argparse.Namespace):
    """The evaluate section from --config, --set and the flags (its defaults and bounds)."""
    from corpusfit.cli.flags import stage_config

    return stage_config(args, "evaluate")


def main(args: argparse.Namespace) -> int:
    from corpusfit.evaluate.results import print_results
    from corpusfit.stages.evaluate import run_eval

    config = config_from_args(args)
    cache = args.cache_dir or (str(Path(args.out) / "cache") if args.out else None)
    results = run_eval(config, args.test_data, args.retriever, args.out, args.baseline, cache,
                       force=args.force, chunk=chunk_from_args(args), student=args.student)
    print_results(results)
    if args.update_card:
        update_cards(results, args.test_data, config.split)
    if args.out:
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


def add_chunk_flags(p: argparse.ArgumentParser) -> None:
    """Flags that split the test documents into passages, as ``ingest`` splits a corpus
    (they are ingest's settings, so they are plain flags here, not evaluate keys)."""
    import typing

    from corpusfit.cli.flags import config_flag, field_help
    from corpusfit.data.chunking import ChunkConfig
    from corpusfit.evaluate.stage import EvaluateConfig

    modes = typing.get_args(ChunkConfig.model_fields["mode"].annotation)
    p.add_argument("--chunk", dest="chunk_mode", choices=modes, default=None,
                   help=field_help(ChunkConfig, "mode"))
    p.add_argument("--chunk-tokens", dest="chunk_max_tokens", type=int, default=None,
                   metavar="N", help=field_help(ChunkConfig, "max_tokens"))
    p.add_argument("--chunk-overlap", dest="chunk_overlap", type=int, default=None,
                   metavar="N", help=field_help(ChunkConfig, "overlap"))
    config_flag(p, EvaluateConfig, "aggregate")
    config_flag(p, EvaluateConfig, "bm25_unit")
    p.add_argument("--student", default=None, help="the model whose tokens size the passages "
                   "(default: the first model among the retrievers, else minilm)")


def chunk_from_args(args: argparse.Namespace):
    """The ChunkConfig of the --chunk* flags (their defaults where not given)."""
    from pydantic import ValidationError

    from corpusfit.data.chunking import ChunkConfig
    from corpusfit.errors import ConfigError, describe_validation

    given = {k: v for k in ("mode", "max_tokens", "overlap")
             if (v := getattr(args, f"chunk_{k}", None)) is not None}
    try:
        return ChunkConfig.model_validate(given)
    except ValidationError as e:
        raise ConfigError(f"eval: {describe_validation(e)}") from None
