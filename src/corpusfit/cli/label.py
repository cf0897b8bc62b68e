"""``corpusfit label``: teacher-score mined candidates into training lists."""

from __future__ import annotations

import argparse
import logging

HELP = "score mined candidates with a teacher and write training lists (lists.jsonl)"

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli.flags import add_out, config_flag, renamed
    from corpusfit.teach.config import LabelConfig

    p.add_argument("--candidates", required=True, help="candidates.jsonl from `corpusfit mine`")
    p.add_argument("--corpus", required=True, help="the corpus the candidates were mined from")
    add_out(p, "output folder (lists.jsonl, manifest.json)")
    p.add_argument("--teacher", default="offline",
                   help="preset 'offline' (default: z(MiniLM)+z(BM25)) or 'offline-ql' (+ "
                        "SmolLM2 query likelihood), or a kind: cross-encoder, t5, llm-judge, "
                        "query-likelihood, bm25, dense")
    p.add_argument("--teacher-model", help="model of a single-kind teacher")
    p.add_argument("--teacher-config", help="YAML/JSON file with a full teacher config")
    # Not --depth: that is how many passages a retriever returns (mine, eval).
    config_flag(p, LabelConfig, "score_depth", "--depth", metavar="N")
    config_flag(p, LabelConfig, "list_size", metavar="L")
    p.add_argument("--no-source-first", action="store_true",
                   help="keep queries whose source passage is not ranked first")
    config_flag(p, LabelConfig, "min_top_percentile", type=float, metavar="P",
                help="percentile of the top-score filter; negative: off")
    config_flag(p, LabelConfig, "top_score_filter")
    config_flag(p, LabelConfig, "normalize_over")
    config_flag(p, LabelConfig, "min_candidates", metavar="N")
    config_flag(p, LabelConfig, "seed")
    p.add_argument("--threads", type=int, help="CPU threads of llama-cpp teachers")
    renamed(p, "--score-cache", "--cache-dir",
            help="teacher score cache folder (default: OUT/scores)")
    p.add_argument("--shard", help="I/N: score only every N-th query from the I-th (0-based)")
    p.add_argument("--merge-from", nargs="*", default=[], metavar="CACHE_DIR",
                   help="join other machines' score caches into --score-cache first")
    p.add_argument("--force", action="store_true", help="redo even if up to date")


def teacher_from_args(args: argparse.Namespace):
    from pydantic import ValidationError

    from corpusfit.config import read_yaml
    from corpusfit.errors import ConfigError, describe_validation
    from corpusfit.teach.config import TEACHER_PRESETS, teacher_config

    data: dict = {}
    try:
        if args.teacher_config:
            data = read_yaml(args.teacher_config)
            cfg = teacher_config(data)
        elif args.teacher in TEACHER_PRESETS:
            cfg = TEACHER_PRESETS[args.teacher]()
        else:
            data = {"kind": args.teacher}
            if args.teacher_model:
                data["model"] = args.teacher_model
            cfg = teacher_config(data)
    except ValidationError as e:
        where = args.teacher_config or "--teacher"
        raise ConfigError(f"bad teacher ({where}): {describe_validation(e, data=data)}") from None
    if args.threads:
        cfg = _with_threads(cfg, args.threads)
    return cfg


def _with_threads(cfg, threads: int):
    """--threads for every teacher (member) that runs on CPU threads."""
    if cfg.kind == "ensemble":
        return cfg.model_copy(update={"members": [_with_threads(m, threads)
                                                  for m in cfg.members]})
    if "n_threads" in type(cfg).model_fields:
        return cfg.model_copy(update={"n_threads": threads})
    return cfg


def label_config_from_args(args: argparse.Namespace):
    from pydantic import ValidationError

    from corpusfit.cli.flags import config_values
    from corpusfit.errors import ConfigError, describe_validation
    from corpusfit.teach.config import LabelConfig

    data = config_values(args, LabelConfig)  # args.teacher is replaced below
    if args.no_source_first:
        data["require_source_first"] = False
    if data.get("min_top_percentile", 0) < 0:
        data["min_top_percentile"] = None  # the filter is off
    data["teacher"] = teacher_from_args(args).model_dump()
    try:
        return LabelConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"label: {describe_validation(e)}") from None


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from corpusfit.stages.base import parse_shard
    from corpusfit.stages.label import run_label
    from corpusfit.teach.cache import merge_cache

    config = label_config_from_args(args)
    shard = parse_shard(args.shard) if args.shard else None
    cache = Path(args.score_cache) if args.score_cache else Path(args.out) / "scores"
    members = config.teacher.leaves()
    if args.merge_from:
        for m in members:
            n = merge_cache(cache, m.teacher_id(), args.merge_from)
            print(f"merged score cache {m.teacher_id()}: {n} pairs")
    result = run_label(config, args.candidates, args.corpus, args.out, cache_dir=cache,
                       shard=shard, force=args.force)
    if result.skipped:
        print(f"{args.out} is up to date (use --force to redo)")
    print(f"teacher: {config.teacher.teacher_id()}")
    for key, value in result.counts.items():
        print(f"  {key:>16}: {value}")
    pps = result.timings.get("pairs_per_s", 0.0)
    cpu = result.timings.get("pairs_per_cpu_s", 0.0)
    print(f"  {'pairs/s':>16}: {pps:.2f} wall-clock, {cpu:.2f} per CPU-second")
    if shard is None:
        print(f"wrote {result.lists_path}")
    return 0
