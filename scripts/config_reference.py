#!/usr/bin/env python3
"""Regenerate the config reference in README.md from the config classes.

Usage: python scripts/config_reference.py [--check]
The table between the two marker comments is replaced; --check exits 1 if stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corpusfit.config_docs import reference_markdown

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only check that README is current")
    args = p.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{README}: markers {START} / {END} not found", file=sys.stderr)
        return 2
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{reference_markdown()}{END}{tail}"
    if args.check:
        if new != text:
            print("README config reference is stale: python scripts/config_reference.py")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    print(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
