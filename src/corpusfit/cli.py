"""The ``corpusfit`` console script: one subcommand per stage, thin over the library.

Each subcommand lives in a module exposing ``HELP``, ``add_arguments(parser)``
and ``main(args) -> int``; modules import heavy libraries only inside ``main``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from corpusfit import __version__
from corpusfit.errors import CorpusfitError
from corpusfit.masking import mask_log_handlers

# Subcommand -> module. Order is the order shown in --help.
COMMANDS = {
    "init": "corpusfit.init_command",
    "doctor": "corpusfit.doctor",
    "run": "corpusfit.run_command",
    "ingest": "corpusfit.data.ingest_command",
    "generate": "corpusfit.generate.command",
    "mine": "corpusfit.retrieve.mine_command",
    "label": "corpusfit.teach.command",
    "train": "corpusfit.train.command",
    "eval": "corpusfit.evaluate.command",
    "export": "corpusfit.teach.export_command",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corpusfit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"corpusfit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def _configure_logging(debug: bool, quiet: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    mask_log_handlers()  # no credential (URL password, bearer token) in a log line
    for noisy in ("httpx", "urllib3", "filelock", "bm25s", "faiss", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _write_lock(args: argparse.Namespace):
    """One writer per run directory (corpusfit/lock.py): ``run`` locks its run directory
    (the module's ``lock_dir``), a stage command its output folder."""
    from corpusfit.lock import output_locks

    lock_dir = getattr(args._module, "lock_dir", None)
    out = lock_dir(args) if lock_dir else getattr(args, "out", None) or getattr(
        args, "output", None)
    return output_locks(out)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # OMP_WAIT_POLICY is left to the user: PASSIVE made llama.cpp generation 1.20x slower on
    # a quiet machine (benchmarks/results/generate.md); on a machine shared
    # with other CPU jobs, spinning threads can cost more, and PASSIVE is the better choice.
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.debug, args.quiet)
    try:
        with _write_lock(args):
            return int(args._module.main(args) or 0)
    except CorpusfitError as e:
        if args.debug:
            raise
        print(f"corpusfit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("corpusfit: interrupted; finished work is kept, rerun to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
