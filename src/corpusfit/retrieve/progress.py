"""Progress of a long loop: a tqdm bar on a terminal, log lines with the time left elsewhere.

On a terminal tqdm redraws one line. In a log file, a batch job's captured stderr or a
CI log those redraws (carriage returns) pile up into one unreadable line, so when stderr
is not a terminal the same bar is written as one INFO log line at most every
:data:`LOG_EVERY` seconds, and once more when it closes, e.g.::

    encode 1000000 passage texts:  45%|####5     | 45.0M/100M [01:10<01:25, 640k tok/s]

tqdm's own count, elapsed time, estimated time left and rate; a bar that closes within
:data:`LOG_EVERY` seconds writes nothing (a query batch is not worth two log lines). Use
it as a tqdm::

    with progress_bar(total, "encode ...", "tok", logger) as bar:
        bar.update(n)

``disable=True`` (``show_progress: false``) shows nothing; ``corpusfit -q`` hides it too
(it disables every tqdm bar, ``cli.progress_bars_hidden``).
"""

from __future__ import annotations

import logging
import sys

from tqdm.auto import tqdm

LOG_EVERY = 30.0  # seconds between two log lines of one bar when stderr is not a terminal


class _LogLines:
    """A file for tqdm to write to: every redraw that is not blank becomes one log line."""

    def __init__(self, log: logging.Logger):
        self.log = log

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line:
            self.log.info("%s", line)

    def flush(self) -> None:
        pass


def progress_bar(total: int, desc: str, unit: str, log: logging.Logger,
                 disable: bool = False) -> tqdm:
    """A tqdm bar over ``total`` units: a live bar on a terminal, else lines of ``log``."""
    if disable:
        return tqdm(total=total, disable=True)
    if sys.stderr.isatty():
        return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False,
                    dynamic_ncols=True)
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, file=_LogLines(log),
                mininterval=LOG_EVERY, maxinterval=LOG_EVERY, delay=LOG_EVERY, ascii=True,
                ncols=100)
