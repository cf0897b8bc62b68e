"""A templated query writer, plugged into the generate stage as a module:Class backend.

Tests only: it writes one well-formed query of each type from the passage's first
words, optionally slowly (``options: {delay: SECONDS}``) so a test can kill a run mid-way.
"""

from __future__ import annotations

import time

from corpusfit.generate.backends.base import Completion


class TemplateBackend:
    name = "template"
    model_name = "template"

    def __init__(self, config):
        self.delay = float(config.options.get("delay", 0.0))

    def generate(self, requests, sampling):
        out = []
        for r in requests:
            time.sleep(self.delay)
            w = [x for x in r.passage.lower().replace(",", " ").split() if len(x) > 2][:3]
            w += ["flow"] * (3 - len(w))
            text = {"question": f"what is the {w[0]} of {w[1]} {w[2]}?",
                    "keywords": f"{w[0]}, {w[1]}, {w[2]}",
                    "title": f"{w[0].title()} and {w[1].title()} {w[2].title()}"}[r.type]
            out.append(Completion(text))
        return out

    def close(self):
        pass
