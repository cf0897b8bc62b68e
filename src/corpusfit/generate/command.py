"""``corpusfit generate``: write synthetic queries of several types for corpus passages."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

HELP = "generate synthetic queries (question, claim, keywords, title, natural, ...) with an LLM"

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli_flags import add_out, config_flag, renamed
    from corpusfit.generate.config import GenerateConfig, SamplingConfig

    src = p.add_mutually_exclusive_group(required=True)
    renamed(src, "--corpus", "--data", help="corpus (BEIR folder, corpus.jsonl, TSV, text "
                                            "folder); ingested into OUT/ingest first")
    src.add_argument("--ingest", help="output folder of `corpusfit ingest`")
    add_out(p)
    renamed(p, "--sample", "--limit", type=int, default=None,
            help="with --corpus: seeded sample of this many passages (default: all)")
    p.add_argument("--config", help="YAML/TOML file with generate settings (as GenerateConfig)")
    p.add_argument("--types", help="comma-separated query types "
                                   "(default: question,claim,keywords,title,natural)")
    config_flag(p, GenerateConfig, "type_file")
    p.add_argument("--backend", help="llama-cpp (default) | transformers | openai | vllm | "
                                     "package.module:Class")
    p.add_argument("--model", help="GGUF path or bundled name (smollm2, qwen2.5-coder-0.5b), "
                                   "model folder, or served model name")
    p.add_argument("--base-url", help="openai backend: server URL (else $OPENAI_BASE_URL)")
    p.add_argument("--concurrency", type=int, help="openai backend: parallel requests")
    p.add_argument("--threads", type=int, help="CPU threads of local backends")
    config_flag(p, SamplingConfig, "temperature", help="sampling temperature")
    config_flag(p, SamplingConfig, "max_new_tokens", metavar="N",
                help="most new tokens per query; a type may ask for fewer")
    config_flag(p, GenerateConfig, "attempts")
    config_flag(p, GenerateConfig, "seed", help="seed of sampling and few-shot choice")
    p.add_argument("--force", action="store_true", help="discard earlier results and redo")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar (-q "
                                                              "hides every bar)")


def _load_file(path: str) -> dict:
    import tomllib
    import yaml

    from corpusfit.errors import DataError
    from corpusfit.reading import read_text
    from corpusfit.yamlfile import load_yaml

    text = read_text(path, "generate settings")  # regular file, UTF-8, named on error
    try:
        data = tomllib.loads(text) if path.endswith(".toml") else load_yaml(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise DataError(path, None, f"cannot parse: {e}") from e
    if not isinstance(data, dict):
        raise DataError(path, None, "expected a mapping of generate settings")
    return data.get("generate", data)


def config_from_args(args: argparse.Namespace):
    """GenerateConfig: file settings, then command-line options on top."""
    from pydantic import ValidationError

    from corpusfit.errors import ConfigError, describe_validation
    from corpusfit.generate.config import GenerateConfig

    data = _load_file(args.config) if args.config else {}
    top = {"types": args.types.split(",") if args.types else None, "type_file": args.type_file,
           "attempts": args.attempts, "seed": args.seed}
    backend = {"name": args.backend, "model": args.model, "base_url": args.base_url,
               "concurrency": args.concurrency, "n_threads": args.threads}
    sampling = {"temperature": args.temperature, "max_new_tokens": args.max_new_tokens}
    data.update({k: v for k, v in top.items() if v is not None})
    for section, values in (("backend", backend), ("sampling", sampling)):
        given = {k: v for k, v in values.items() if v is not None}
        data[section] = {**data.get(section, {}), **given}
    try:
        return GenerateConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"generate: {describe_validation(e)}") from None


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
