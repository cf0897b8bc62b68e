"""``corpusfit init``: write a commented config with every option and its default."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write a commented pipeline config (every option, its default and meaning)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="?", default="corpusfit.yaml",
                   help="file to write (default: corpusfit.yaml)")
    p.add_argument("--corpus", default=None, help="fill in the corpus path")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def main(args: argparse.Namespace) -> int:
    from corpusfit.config_docs import init_text
    from corpusfit.errors import ConfigError
    from corpusfit.workspace import write_text

    path = Path(args.path)
    if path.exists() and not args.force:
        raise ConfigError(f"{path} exists; pass --force to overwrite it")
    write_text(path, init_text({"corpus": args.corpus} if args.corpus else None))
    print(f"wrote {path}; edit it (at least `corpus`), then: corpusfit run {path}")
    return 0
