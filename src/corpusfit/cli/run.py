"""``corpusfit run CONFIG``: the whole pipeline in one run directory, resuming by default."""

from __future__ import annotations

import argparse
import logging
import os
import re
from pathlib import Path

from corpusfit.masking import MaskingFilter

HELP = "run ingest → generate → mine → label → train → evaluate → report from one config"

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config (write one with `corpusfit init`)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.lr=1e-4 (repeatable)")
    p.add_argument("--run-dir", default=None,
                   help="run directory (default: run_dir from the config, else runs/CONFIG_NAME)")
    p.add_argument("--force", action="append", default=[], metavar="STAGE", type=stage_name,
                   help="redo this stage (and so everything after it) even if up to date; "
                        "repeatable; a variant by its key, e.g. train-infonce")
    p.add_argument("--until", default=None, metavar="STAGE", type=until_stage,
                   help="stop after this stage (ingest, generate, mine, label, train, "
                        "eval or evaluate, report)")


# What users type for a stage: the subcommand's name (eval), a noun, its folder (06-evaluate).
STAGE_ALIASES = {"eval": "evaluate", "evaluation": "evaluate", "generation": "generate",
                 "training": "train", "labeling": "label", "labelling": "label",
                 "mining": "mine", "ingestion": "ingest", "reporting": "report"}


def stage_name(text: str) -> str:
    """The pipeline's name of the stage ``text`` (any case; a variant key keeps its suffix)."""
    from corpusfit.stages.layout import STAGES

    head, sep, variant = re.sub(r"^\d+-", "", text.strip()).partition("-")
    head = STAGE_ALIASES.get(head.lower(), head.lower())
    if head not in STAGES:
        raise argparse.ArgumentTypeError(f"unknown stage '{text}' (stages: "
                                         f"{', '.join(STAGES)}; eval = evaluate)")
    if variant and head != "train":
        raise argparse.ArgumentTypeError(f"'{text}': only train has variants (train-NAME)")
    return head + sep + variant


def until_stage(text: str) -> str:
    """``--until``: a stage (the pipeline stops after all of its units), not a variant."""
    name = stage_name(text)
    if "-" in name:
        raise argparse.ArgumentTypeError(f"--until takes a stage, not a variant: "
                                         f"'{name.split('-')[0]}'")
    return name


def resolve_run_dir(args: argparse.Namespace, config) -> Path:
    if args.run_dir:
        return Path(args.run_dir)
    if config.run_dir is not None:
        return Path(config.run_dir)
    return Path("runs") / Path(args.config).stem


def lock_dir(args: argparse.Namespace) -> Path:
    """The folder the CLI locks for this command (one writer per run directory)."""
    from corpusfit.config import load_config

    return resolve_run_dir(args, load_config(args.config, args.set))


def _log_to_file(run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(run_dir / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    handler.addFilter(MaskingFilter())
    logging.getLogger().addHandler(handler)


def main(args: argparse.Namespace) -> int:
    from corpusfit.config import load_config
    from corpusfit.evaluate.tables import text_table
    from corpusfit.pipeline import run_pipeline
    from corpusfit.stages.report import final_rows

    config = load_config(args.config, args.set)
    run_dir = resolve_run_dir(args, config)
    _log_to_file(run_dir)
    results = run_pipeline(config, run_dir, force=set(args.force), until=args.until)
    if os.environ.get("RANK", "0") != "0":  # under torchrun rank 0 prints the run's tables
        return 0
    rows = [{"stage": r.out.name, "status": r.status,
             "seconds": f"{r.seconds:.1f}" if r.status == "ran" else
             f"(last run {r.last_run_seconds or 0:.1f})"} for r in results]
    print(text_table(rows, ["stage", "status", "seconds"]))
    final = final_rows(run_dir)
    if final:
        print("\nTest queries (Δ and p: paired permutation test vs base):")
        print(text_table(final, ["model", "what", "nDCG@10", "R@100", "Δ nDCG@10", "p"]))
    report = run_dir / "07-report" / "report.html"
    if report.exists():
        print(f"\nreport: {report}  (and report.md next to it)")
    return 0
