"""The report's first lines: did specializing help? Base → trained nDCG@10 with its change,
a bootstrap confidence interval and p from the per-query values, wins and losses, and
which model the never-worse guard kept."""

from __future__ import annotations

from corpusfit.evaluate.significance import delta_ci
from corpusfit.train.selection import kept_sentence

METRIC = "nDCG@10"
TIE = 1e-9  # per-query changes smaller than this count as unchanged


def trained_names(train_units: list[str]) -> list[str]:
    """Retriever names of the train units: ``05-train`` → specialized, ``05-train-X`` → X."""
    return ["specialized" if u.endswith("-train") else u.split("-", 2)[-1] for u in train_units]


def _verdict(low: float, high: float) -> str:
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    return "no clear change"


def compare(metrics: dict, per_query: dict[str, dict[str, float]], name: str,
            result: dict | None) -> dict | None:
    """The headline numbers of one trained model against the baseline (None if absent)."""
    retrievers = metrics.get("retrievers") or {}
    base = metrics.get("baseline") or "base"
    if name not in retrievers or base not in retrievers:
        return None
    a, b = per_query.get(base) or {}, per_query.get(name) or {}
    vs = retrievers[name].get("vs_baseline") or {}
    out = {"name": name, "base": base, "n": metrics.get("n_queries"),
           "base_value": retrievers[base]["metrics"].get(METRIC, 0.0),
           "value": retrievers[name]["metrics"].get(METRIC, 0.0),
           "p": vs.get("p_permutation"), "result": result or {}}
    out["delta"] = out["value"] - out["base_value"]
    shared = sorted(set(a) & set(b))
    if shared:
        diffs = [b[q] - a[q] for q in shared]
        out["ci"] = delta_ci(a, b)
        out["wins"] = sum(d > TIE for d in diffs)
        out["losses"] = sum(d < -TIE for d in diffs)
        out["ties"] = len(diffs) - out["wins"] - out["losses"]
    return out


def _guard(result: dict) -> str:
    kept = result.get("kept")
    if kept in ("base", "previous"):
        return kept_sentence(result) or ""
    if kept == "trained":
        best, base = result.get("best_dev_loss"), result.get("base_dev_loss")
        prev = result.get("previous_dev_loss")
        losses = (f" (dev loss {best:.4f} vs base {base:.4f}"
                  + (f", previous {prev:.4f}" if isinstance(prev, float) else "") + ")"
                  if isinstance(best, float) and isinstance(base, float) else "")
        what = ("the model trained from the previous one" if result.get("init") == "previous"
                else "the trained model")
        return f"The never-worse guard kept {what}{losses}."
    return ""


def sentences(h: dict) -> tuple[str, str]:
    """(the bold headline, the line under it) for one :func:`compare` result."""
    delta = f"Δ {h['delta']:+.4f}"
    if "ci" in h:
        delta += f"; 95% CI {h['ci'][0]:+.4f} to {h['ci'][1]:+.4f}"
    if h.get("p") is not None:
        delta += f"; p = {h['p']:.3g}"
    verdict = _verdict(*h["ci"]) if "ci" in h else ""
    head = (f"{h['name']}: {METRIC} {h['base_value']:.4f} → {h['value']:.4f} ({delta}) "
            f"on {h['n']} test queries" + (f" — {verdict}" if verdict else ""))
    parts = []
    if "wins" in h:
        parts.append(f"Better on {h['wins']} queries, worse on {h['losses']}, unchanged on "
                     f"{h['ties']} (vs {h['base']}).")
    parts.append(_guard(h["result"]))
    return head, " ".join(p for p in parts if p)
