"""``corpusfit generate``: write synthetic queries of several types for corpus passages."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

HELP = "generate synthetic queries (question, claim, keywords, title, natural, ...) with an LLM"

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli.flags import add_out, add_stage_options, config_flag, key_flag, renamed
    from corpusfit.generate.config import GenerateConfig, SamplingConfig

    src = p.add_mutually_exclusive_group(required=True)
    renamed(src, "--corpus", "--data", help="corpus (BEIR folder, corpus.jsonl, TSV, text "
                                            "folder); ingested into OUT/ingest first")
    src.add_argument("--ingest", help="output folder of `corpusfit ingest`")
    add_out(p)
    add_stage_options(p, "generate", force="discard earlier results and redo")
    renamed(p, "--sample", "--limit", type=int, default=None,
            help="with --corpus: seeded sample of this many passages (default: all)")
    config_flag(p, GenerateConfig, "types", type=_comma_list, action=None,
                help="comma-separated query types")
    config_flag(p, GenerateConfig, "type_file")
    key_flag(p, "--backend", "backend.name",
             help="llama-cpp (default) | transformers | openai | vllm | package.module:Class")
    key_flag(p, "--model", "backend.model", help="GGUF path or bundled name (smollm2, "
             "qwen2.5-coder-0.5b), model folder, or served model name")
    key_flag(p, "--base-url", "backend.base_url",
             help="openai backend: server URL (else $OPENAI_BASE_URL)")
    key_flag(p, "--concurrency", "backend.concurrency", type=int,
             help="openai backend: parallel requests")
    key_flag(p, "--threads", "backend.n_threads", type=int, help="CPU threads of local backends")
    config_flag(p, SamplingConfig, "temperature", key="sampling.temperature",
                help="sampling temperature")
    config_flag(p, SamplingConfig, "max_new_tokens", key="sampling.max_new_tokens", metavar="N",
                help="most new tokens per query; a type may ask for fewer")
    config_flag(p, GenerateConfig, "attempts")
    config_flag(p, GenerateConfig, "seed", help="seed of sampling and few-shot choice")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar (-q "
                                                              "hides every bar)")


def _comma_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def config_from_args(args: argparse.Namespace):
    """GenerateConfig: the config file, then --set, then the flags (one config path)."""
    from corpusfit.cli.flags import stage_config

    return stage_config(args, "generate")


def main(args: argparse.Namespace) -> int:
    from corpusfit.data.ingest import IngestConfig
    from corpusfit.evaluate.tables import text_table
    from corpusfit.generate.stats import COLUMNS
    from corpusfit.generate.types import resolve_types
    from corpusfit.stages.generate import run_generate
    from corpusfit.stages.ingest import run_ingest

    config = config_from_args(args)
    resolve_types(config.types, config.type_file)  # fail on a bad type before any work
    out = Path(args.out)
    ingest_dir = Path(args.ingest) if args.ingest else out / "ingest"
    if args.corpus:
        counts = run_ingest(IngestConfig(sample=args.sample, seed=config.seed), args.corpus,
                            ingest_dir)
        print(f"ingest: {counts['documents']} documents, {counts['duplicates']} near-duplicates "
              f"and {counts['heldout']} held out excluded, {counts['sampled']} sampled")
    summary = run_generate(config, ingest_dir, out, force=args.force,
                           progress=not (args.no_progress or getattr(args, "quiet", False)))
    print()
    print(text_table(summary.rows(), COLUMNS))
    print(f"\n{summary.new_records} (passage, type) pairs done in this run in "
          f"{summary.seconds:.1f}s: {summary.queries_per_second:.2f} queries/s "
          f"({summary.generations} generations, {summary.stored} of them answered by the "
          f"completion store; resampled after rejection: "
          f"{sum(v for k, v in summary.retried.items() if k != 'server_retry')}, "
          f"server retries: {summary.retried.get('server_retry', 0)})")
    print(f"{summary.total_accepted} queries in {out / 'queries.jsonl'}, "
          f"{summary.total_rejected} rejections in {out / 'rejected.jsonl'}")
    return 0
