"""``corpusfit label``: teacher-score mined candidates into training lists."""

from __future__ import annotations

import argparse
import logging

HELP = "score mined candidates with a teacher and write training lists (lists.jsonl)"

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli.flags import add_out, add_stage_options, config_flag, key_flag, renamed
    from corpusfit.teach.config import LabelConfig

    p.add_argument("--candidates", required=True, help="candidates.jsonl from `corpusfit mine`")
    p.add_argument("--corpus", required=True, help="the corpus the candidates were mined from")
    add_out(p, "output folder (lists.jsonl, manifest.json)")
    add_stage_options(p, "label")
    teacher = p.add_mutually_exclusive_group()
    key_flag(teacher, "--teacher", "teacher", type=_teacher_value, metavar="NAME",
             help="a preset: offline (the default: z(MiniLM)+z(BM25)) or offline-ql (+ SmolLM2 "
                  "query likelihood), or a kind: cross-encoder, t5, llm-judge, "
                  "query-likelihood, bm25, dense (the config's `teacher` takes the same values)")
    key_flag(teacher, "--teacher-config", "teacher", dest="teacher_file", type=_teacher_file,
             metavar="FILE",
             help="YAML/JSON file with a full teacher config")
    key_flag(p, "--teacher-model", "teacher.model", help="model of a single-kind teacher")
    # Not --depth: that is how many passages a retriever returns (mine, eval).
    config_flag(p, LabelConfig, "score_depth", "--depth", metavar="N")
    config_flag(p, LabelConfig, "list_size", metavar="L")
    key_flag(p, "--no-source-first", "require_source_first", action="store_const", const=False,
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


def _teacher_value(text: str) -> str | dict:
    """``--teacher``: a preset name stays a name (the config expands it), a kind becomes
    ``{kind: ...}`` so that ``--teacher-model`` can add its model."""
    from corpusfit.teach.config import TEACHER_PRESETS

    return text if text in TEACHER_PRESETS else {"kind": text}


def _teacher_file(path: str) -> dict:
    from corpusfit.config import read_yaml

    return read_yaml(path)


def label_config_from_args(args: argparse.Namespace):
    """LabelConfig from --config, then --set, then the flags; ``--threads`` then goes to
    every teacher (member) that runs on CPU threads."""
    from corpusfit.cli.flags import stage_config
    from corpusfit.teach.config import with_threads

    config = stage_config(args, "label")
    if args.threads:
        config = config.model_copy(update={"teacher": with_threads(config.teacher,
                                                                   args.threads)})
    return config


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
