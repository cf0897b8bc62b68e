"""Held-out and sampled ids that stay put when a corpus grows or shrinks.

The first ingest of a folder draws them as :mod:`corpusfit.data.ingest` always did and
records in ``sampling.json`` the settings, the corpus's ids and the sampling rate (sampled
/ eligible). A later ingest with the same settings keeps every earlier held-out and
sampled passage that still exists and draws the new passages at the same rates (seeded),
so only the new passages get new work downstream (their queries, lists). Changed
settings draw afresh.
"""

from __future__ import annotations

import random
from pathlib import Path

from corpusfit.errors import DataError
from corpusfit.workspace import read_json, write_json

STATE = "sampling.json"


def _settings(config) -> dict:
    return {k: getattr(config, k) for k in ("sample", "seed", "heldout_fraction",
                                            "heldout_file", "dedup")}


def _last(out: Path) -> dict | None:
    try:
        prev = read_json(out / STATE) if (out / STATE).exists() else None
    except DataError:
        return None
    return prev if isinstance(prev, dict) else None


def previous(out: Path, config) -> dict | None:
    """The last ingest's record in ``out`` when it was made with the same settings."""
    prev = _last(out)
    return prev if prev is not None and prev.get("settings") == _settings(config) else None


def _draw_new(prev: dict, ids: list[str], rate: float, salt: str, seed: int) -> list[str]:
    old = set(prev["ids"])
    new = sorted(i for i in ids if i not in old)
    random.Random(f"{salt}:{seed}:{len(old)}").shuffle(new)
    return new[: round(rate * len(new))]


def stable_heldout(config, docs: dict, prev: dict | None) -> list[str] | None:
    """Held-out ids kept from ``prev`` plus new ones at the fraction (None: draw afresh)."""
    if prev is None or not config.heldout_fraction:
        return None
    kept = [i for i in prev["heldout"] if i in docs]
    return sorted(kept + _draw_new(prev, list(docs), config.heldout_fraction, "heldout",
                                   config.seed))


def stable_sample(config, eligible: list[str], prev: dict | None) -> list[str] | None:
    """Sampled ids kept from ``prev`` (in their order), then new ones at the same rate."""
    if prev is None:
        return None
    allowed = set(eligible)
    kept = [i for i in prev["sampled"] if i in allowed]
    return kept + _draw_new(prev, eligible, prev["rate"], "sample", config.seed)


def record(out: Path, config, docs: dict, heldout: list[str], sampled: list[str],
           eligible: int, prev: dict | None) -> dict:
    """Write ``sampling.json``; returns the counts of kept and new sampled passages."""
    last = _last(out)  # also when the settings changed: what the earlier sample had
    before = set(last.get("sampled") or []) if last else set()
    rate = prev["rate"] if prev else len(sampled) / max(eligible, 1)
    write_json(out / STATE, {"settings": _settings(config), "rate": rate,
                             "ids": sorted(docs), "heldout": heldout, "sampled": sampled})
    kept = sum(i in before for i in sampled)
    return {"sampled_kept": kept, "sampled_new": len(sampled) - kept}
