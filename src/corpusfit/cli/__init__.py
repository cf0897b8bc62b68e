"""The ``corpusfit`` console script: one subcommand per stage, thin over the library.

Each subcommand is the module of this package named after it (``corpusfit train`` is
:mod:`corpusfit.cli.train`), exposing ``HELP``, ``add_arguments(parser)`` and
``main(args) -> int``; modules import heavy libraries only inside ``main``. Flags shared
by several subcommands come from :mod:`corpusfit.cli.flags` (one vocabulary), and every
stage command builds its config the same way (:mod:`corpusfit.cli.stage_config`).

Use it as ``corpusfit COMMAND ...`` or ``python -m corpusfit.cli COMMAND ...``; tests call
:func:`main` with a list of arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys

from corpusfit.cli.flags import add_verbosity
from corpusfit.errors import CorpusfitError
from corpusfit.masking import mask_log_handlers
from corpusfit.version import __version__

# Subcommand -> module. Order is the order shown in --help.
COMMANDS = {name: f"corpusfit.cli.{name}" for name in (
    "init", "doctor", "run", "ingest", "generate", "mine", "label", "train", "eval", "report",
    "export")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corpusfit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"corpusfit {__version__}")
    add_verbosity(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        add_verbosity(p)  # -q/-v after the subcommand too
        p.set_defaults(_module=module)
    return parser


def _configure_logging(debug: bool, quiet: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    mask_log_handlers()  # no credential (URL password, bearer token) in a log line
    for noisy in ("httpx", "urllib3", "filelock", "bm25s", "faiss", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@contextlib.contextmanager
def progress_bars_hidden(hide: bool = True):
    """``-q``: no progress bar while the command runs, ours or a library's.

    Bars are made in many places (encoding, training, labeling, generation, and inside
    transformers and sentence-transformers), most with an explicit ``disable=`` that
    tqdm's own TQDM_DISABLE cannot override; so the tqdm class they all derive from is
    told to disable every bar, and transformers' and the hub's own switches are turned
    off. Everything is restored afterwards (tests call :func:`main` in one process).
    """
    if not hide:
        yield
        return
    import huggingface_hub.utils as hub
    import tqdm
    from transformers.utils import logging as hf_logging

    init = tqdm.tqdm.__init__

    def quiet_init(self, *args, **kwargs):
        kwargs["disable"] = True
        init(self, *args, **kwargs)

    hf_was, hub_was = hf_logging.is_progress_bar_enabled(), hub.are_progress_bars_disabled()
    tqdm.tqdm.__init__ = quiet_init
    hf_logging.disable_progress_bar()
    hub.disable_progress_bars()
    try:
        yield
    finally:
        tqdm.tqdm.__init__ = init
        if hf_was:
            hf_logging.enable_progress_bar()
        if not hub_was:
            hub.enable_progress_bars()


def _write_lock(args: argparse.Namespace):
    """One writer per run directory (corpusfit/lock.py): ``run`` locks its run directory
    (the module's ``lock_dir``), a stage command its output folder."""
    from corpusfit.lock import output_locks

    lock_dir = getattr(args._module, "lock_dir", None)
    return output_locks(lock_dir(args) if lock_dir else getattr(args, "out", None))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # OMP_WAIT_POLICY is left to the user (README "A shared machine": PASSIVE can help on a
    # machine shared with other CPU jobs and costs speed on a quiet one).
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.debug or args.verbose, args.quiet)
    try:
        with _write_lock(args), progress_bars_hidden(args.quiet):
            return int(args._module.main(args) or 0)
    except CorpusfitError as e:
        if args.debug:
            raise
        print(f"corpusfit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("corpusfit: interrupted; finished work is kept, rerun to continue", file=sys.stderr)
        return 130
