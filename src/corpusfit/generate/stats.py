"""Counts of the generate stage: accepted and rejected per type, reasons, throughput."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from corpusfit.workspace import iter_jsonl_tolerant

COLUMNS = ["type", "accepted", "rejected", "acceptance", "reasons"]


@dataclass
class GenerateSummary:
    """Per-type counts read back from the output files, plus this run's throughput.

    ``new_records`` (passage, type) pairs were finished in ``seconds`` using
    ``generations`` model calls (rejected outputs are resampled); ``retried``
    counts, per reason, the outputs that were rejected and tried again, and
    ``server_retry`` the requests a backend repeated after transient errors. Of the
    ``generations``, ``stored`` were answered by the completion store and ``asked`` were
    sent to the model.
    """

    accepted: Counter = field(default_factory=Counter)
    rejected: dict[str, Counter] = field(default_factory=dict)
    types: list[str] = field(default_factory=list)
    seconds: float = 0.0
    new_records: int = 0
    generations: int = 0
    stored: int = 0
    asked: int = 0
    retried: dict[str, int] = field(default_factory=dict)

    @property
    def total_accepted(self) -> int:
        return sum(self.accepted.values())

    @property
    def total_rejected(self) -> int:
        return sum(sum(c.values()) for c in self.rejected.values())

    @property
    def queries_per_second(self) -> float:
        """Finished (passage, type) records per second in this run."""
        return self.new_records / self.seconds if self.seconds > 0 else 0.0

    def acceptance(self, qtype: str | None = None) -> float:
        acc = self.total_accepted if qtype is None else self.accepted[qtype]
        rej = self.total_rejected if qtype is None else sum(self.rejected.get(qtype, {}).values())
        return acc / (acc + rej) if acc + rej else 0.0

    def counts(self) -> dict:
        """JSON-friendly counts for the manifest."""
        return {
            "accepted": self.total_accepted,
            "rejected": self.total_rejected,
            "per_type": {t: {"accepted": self.accepted[t],
                             "rejected": dict(self.rejected.get(t, Counter()))}
                         for t in self.types},
            "new_records": self.new_records,
            "generations": self.generations,
            "stored": self.stored,
            "asked": self.asked,
            "retried": self.retried,
            "queries_per_second": round(self.queries_per_second, 4),
        }

    def rows(self) -> list[dict]:
        """Table rows (see :data:`COLUMNS`), one per type and a total."""
        rows = []
        for t in [*self.types, None]:
            rej = (sum(self.rejected.values(), Counter()) if t is None
                   else self.rejected.get(t, Counter()))
            reasons = ", ".join(f"{r} {n}" for r, n in rej.most_common()) or "-"
            acc = self.total_accepted if t is None else self.accepted[t]
            rows.append({"type": t or "all", "accepted": acc, "rejected": sum(rej.values()),
                         "acceptance": f"{self.acceptance(t):.0%}", "reasons": reasons})
        return rows


def summarize(queries: Path, rejected: Path, types: list[str], **run: object) -> GenerateSummary:
    """Count the records of ``queries.jsonl`` and ``rejected.jsonl``."""
    summary = GenerateSummary(types=list(types), **run)
    for rec in iter_jsonl_tolerant(queries):
        summary.accepted[rec["type"]] += 1
    for rec in iter_jsonl_tolerant(rejected):
        summary.rejected.setdefault(rec["type"], Counter())[rec["reason"]] += 1
    return summary
