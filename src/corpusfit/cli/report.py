"""``corpusfit report RUN_DIR``: (re)write the report of a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write the report (report.md, report.html) of a run directory from what its stages wrote"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from corpusfit.cli.flags import add_out

    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory of `corpusfit run`")
    add_out(p, "output folder (default: RUN_DIR/07-report)", required=False)
    p.add_argument("--title", help="page title (default: corpusfit report: RUN_DIR's name)")


def _out(args: argparse.Namespace) -> Path:
    from corpusfit.stages.layout import FOLDERS

    return Path(args.out) if args.out else Path(args.run_dir) / FOLDERS["report"]


def lock_dir(args: argparse.Namespace) -> Path:
    """The run directory: no stage may write into it while its report is read."""
    return Path(args.run_dir)


def main(args: argparse.Namespace) -> int:
    from corpusfit.errors import ConfigError
    from corpusfit.report.render import write_report

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: no such run directory")
    out = _out(args)
    title = args.title or f"corpusfit report: {run_dir.resolve().name}"
    info = write_report(run_dir, out, title=title)
    print(f"wrote {out / 'report.html'} and report.md ({info['figures']} figures)")
    return 0
