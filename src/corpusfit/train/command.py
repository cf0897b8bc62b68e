"""``corpusfit train``: fine-tune a student on teacher-scored lists."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

HELP = "train a student embedding model on lists.jsonl (listwise distillation + InfoNCE)"

logger = logging.getLogger(__name__)

# CLI flag -> TrainConfig field (flags left out keep the config's default).
_FLAGS = {"student": "student", "mode": "mode", "epochs": "epochs", "lr": "lr",
          "queries_per_step": "queries_per_step",
          "max_minutes": "max_minutes", "seed": "seed", "eval_data": "eval_data",
          "cache_dir": "cache_dir", "device": "device"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lists", required=True, help="lists.jsonl from the label stage")
    p.add_argument("--corpus", help="corpus the lists refer to (default: found next to LISTS)")
    p.add_argument("--out", required=True, help="output model folder")
    p.add_argument("--student", help="student model: short name, folder or hub id (minilm)")
    p.add_argument("--mode", choices=["auto", "full", "query_only"],
                   help="auto = full on GPU, query_only on CPU")
    p.add_argument("--config", help="YAML/JSON file with TrainConfig fields")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config field override, dotted if nested (loss.infonce_temperature=0.02)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--queries-per-step", type=int)
    p.add_argument("--max-minutes", type=float, help="stop training after this wall time")
    p.add_argument("--seed", type=int)
    p.add_argument("--eval-data", help="BEIR folder: put base vs trained metrics in the card")
    p.add_argument("--cache-dir", help="embedding cache folder")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")


def build_config(args: argparse.Namespace):
    """TrainConfig from --config, then --set overrides, then explicit flags."""
    from pydantic import ValidationError

    from corpusfit.config import apply_overrides, read_yaml
    from corpusfit.errors import ConfigError, describe_validation
    from corpusfit.train.config import TrainConfig

    raw: dict = {}
    if args.config:
        raw = read_yaml(args.config)
        raw = raw.get("train", raw)
    apply_overrides(raw, args.set)
    for flag, field in _FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            raw[field] = value
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"train config: {describe_validation(e)}") from None


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
    result = run_train(cfg, args.lists, corpus, args.out)
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
