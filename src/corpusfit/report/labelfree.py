"""The report's label-free part: the verdict on the probe queries (``06-evaluate-labelfree``).

It is the headline of a run without test data and a section beside the test metrics of
one with them. :func:`collect_labelfree` reads the run folder; :func:`labelfree_headlines`
and :func:`labelfree_section` word it.
"""

from __future__ import annotations

from pathlib import Path

from corpusfit.workspace import read_json

FOLDER = "06-evaluate-labelfree"
PROBE_FOLDER = "02-generate-probe"
COLUMNS = ["model", "type", "n", "source MRR@10", "source R@100", "reference nDCG@10",
           "combined Δ [95% CI]", "verdict"]


def collect_labelfree(run_dir: str | Path) -> dict:
    """``labelfree.json`` plus the probe step's cost ({} when the run has none)."""
    run_dir = Path(run_dir)
    path = run_dir / FOLDER / "labelfree.json"
    if not path.is_file():
        return {}
    data = read_json(path)
    probe = run_dir / PROBE_FOLDER / "manifest.json"
    if probe.is_file():
        manifest = read_json(probe)
        data["probe_cost"] = {"passages": manifest.get("counts", {}).get("probe_passages"),
                              "seconds": (manifest.get("timings") or {}).get("seconds")}
    return data


def _delta(d: dict) -> str:
    return f"{d['delta']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]"


def _cell(d: dict) -> str:
    return f"{d['model']:.4f} ({d['delta']:+.4f})"


def labelfree_headlines(data: dict) -> list[tuple[str, str]]:
    """(bold line, line under it) per trained model; [] without probe queries."""
    out = []
    for name, c in (data.get("models") or {}).items():
        m = c["metrics"]
        head = (f"Label-free verdict for {name}: {c['verdict']} (combined "
                f"{_delta(m['combined']['all'])} vs the base model, "
                f"{data['queries']} held-out synthetic queries).")
        under = (f"Source passage MRR@10 {_cell(m['MRR@10']['all'])}, nDCG@10 against the "
                 f"{data.get('reference', '')} pseudo-reference {_cell(m['nDCG@10']['all'])}. "
                 f"Rule: {c['rule']}.")
        out.append((head, under))
    return out


def labelfree_rows(data: dict) -> list[dict]:
    """One row per (model, query type) and one per model for all types."""
    rows = []
    for name, c in (data.get("models") or {}).items():
        m = c["metrics"]
        for t in ["all", *m["combined"]["by_type"]]:
            pick = {k: v["all"] if t == "all" else v["by_type"][t] for k, v in m.items()}
            rows.append({"model": name, "type": t, "n": pick["combined"]["n"],
                         "source MRR@10": _cell(pick["MRR@10"]),
                         "source R@100": _cell(pick["R@100"]),
                         "reference nDCG@10": _cell(pick["nDCG@10"]),
                         "combined Δ [95% CI]": _delta(pick["combined"]),
                         "verdict": c["verdict"] if t == "all" else ""})
    return rows


def labelfree_section(data: dict):
    """The report section (a :class:`~corpusfit.report.sections.Section`), or None."""
    from corpusfit.report.section import Section

    if not data.get("models"):
        return None
    cost = data.get("probe_cost") or {}
    text = [f"{data['queries']} synthetic queries of held-out probe passages "
            f"({cost.get('passages', '?')} passages; generated in "
            f"{cost.get('seconds') or 0:.0f} s by the training queries' generator), never "
            "trained on; every model searches the whole corpus. In brackets: change against "
            "the base model; intervals: bootstrap over queries. The test metrics, where "
            "there are any, are the judged answer; this is the estimate without labels."]
    return Section("Label-free verdict on held-out synthetic queries", text,
                   labelfree_rows(data), COLUMNS)
