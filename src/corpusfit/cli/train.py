"""``corpusfit train``: fine-tune a student on teacher-scored lists."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

HELP = "train a student embedding model on lists.jsonl (listwise distillation + InfoNCE)"

logger = logging.getLogger(__name__)

def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli.flags import add_out, add_stage_options, config_flag
    from corpusfit.train.config import TrainConfig

    p.add_argument("--lists", required=True, help="lists.jsonl from the label stage")
    p.add_argument("--corpus", help="corpus the lists refer to (default: found next to LISTS)")
    add_out(p, "output model folder")
    add_stage_options(p, "train", force="start over: discard the checkpoint of an earlier, "
                                        "interrupted run and retrain even if up to date")
    config_flag(p, TrainConfig, "student", help="student model: short name (minilm), folder "
                                                "or hub id")
    config_flag(p, TrainConfig, "mode", help="full: both sides trained; query_only: the "
                                             "query side, passages keep the base model; auto: "
                                             "full (on a CPU on each list's top 4 "
                                             "passages, see --passages-per-query)")
    config_flag(p, TrainConfig, "epochs", metavar="N", help="passes over the training lists")
    config_flag(p, TrainConfig, "lr", help="learning rate (default: the paper's, scaled to "
                                           "the batch)")
    config_flag(p, TrainConfig, "queries_per_step", metavar="N", help="queries per "
                                                                     "optimizer step")
    config_flag(p, TrainConfig, "max_minutes", metavar="MINUTES|auto")
    config_flag(p, TrainConfig, "seed", help="seed of shuffling and initialization")
    config_flag(p, TrainConfig, "trust_remote_code", action="store_true")
    config_flag(p, TrainConfig, "eval_data", metavar="BEIR_FOLDER",
                help="BEIR folder: base vs trained metrics in the model card")
    config_flag(p, TrainConfig, "cache_dir", help="embedding cache folder (query-only mode: "
                                                  "the passages' vectors)")
    config_flag(p, TrainConfig, "device", help="cpu, cuda, cuda:1 ... (default: cuda if "
                                               "available)")


def build_config(args: argparse.Namespace):
    """TrainConfig from --config, then --set overrides, then explicit flags, validated."""
    from corpusfit.cli.flags import stage_config

    return stage_config(args, "train")


def find_corpus(lists: Path) -> Path:
    """A corpus beside the lists (``corpus.jsonl`` in its folder or an ``ingest`` sibling)."""
    from corpusfit.errors import ConfigError

    for folder in (lists.parent, lists.parent.parent):
        for cand in (folder / "corpus.jsonl", folder / "ingest" / "corpus.jsonl"):
            if cand.exists():
                return cand
    raise ConfigError(f"no corpus found next to {lists}; pass --corpus")


def main(args: argparse.Namespace) -> int:
    from corpusfit.stages.train import run_train

    cfg = build_config(args)
    corpus = Path(args.corpus) if args.corpus else find_corpus(Path(args.lists))
    result = run_train(cfg, args.lists, corpus, args.out, force=args.force)
    if os.environ.get("RANK", "0") != "0":  # under torchrun: one report is enough
        return 0
    if result.skipped:
        print(f"{args.out} is up to date (manifest matches); nothing to do")
        return 0
    print(json.dumps({"out": str(result.out), "mode": result.mode, "steps": result.steps,
                      "kept": result.kept, "base_dev_loss": result.base_dev_loss,
                      "best_dev_loss": result.best_dev_loss, "stopped": result.stopped,
                      "seconds": result.seconds, **{k: result.counts[k] for k in
                                                     ("train_queries", "dev_queries")}},
                     indent=2))
    return 0
