"""Does a label-free signal track the true test change? benchmarks/results/verdict.md.

For finished run directories (``corpusfit run ... --until evaluate`` on a shared
collection, with train variants and the probe + label-free steps), every trained model
is one (collection, model) pair. For each pair the true change is the test nDCG@10 of
the exported model minus the base model's (06-evaluate), and each signal gives its own
change against the base model:

- ``dev loss``: base dev loss minus the best trained checkpoint's (the guard today);
- ``teacher agreement``: nDCG@10 of the student's order against the teacher's scores
  on the dev lists, model minus base;
- ``source MRR@10``, ``reference nDCG@10``, ``combined``: the label-free views on the
  probe queries (:mod:`corpusfit.evaluate.labelfree`).

Per signal: sign agreement with the true change (all pairs, and pairs with
|true Δ| >= 0.01), Kendall τ, and how many models a guard that ships on "signal Δ > 0"
would ship whose true Δ < -0.005 (and whose test change is significantly negative,
p < 0.05); plus the guard "dev loss, then a label-free veto" (ships when the dev loss
says better and the label-free verdict is not "worse"). Runs should train with
``train.keep_base_if_better: false`` so every pair is a trained model; a pair whose run
kept the base model is left out.

Usage: python benchmarks/verdict.py RUN_DIR [RUN_DIR ...] [--out benchmarks/results/verdict.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scipy import stats

SIGNALS = ["dev loss", "teacher agreement", "source MRR@10", "reference nDCG@10", "combined"]
VETO = "dev loss + label-free veto"  # ships when dev loss says better and verdict != worse


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _train_folder(run: Path, name: str) -> Path:
    return run / ("05-train" if name == "specialized" else f"05-train-{name}")


def pairs(run: Path) -> list[dict]:
    """One row per trained model of a run directory."""
    metrics = _read(run / "06-evaluate" / "metrics.json")
    agreement = _read(run / "06-evaluate" / "agreement.json")
    labelfree = _read(run / "06-evaluate-labelfree" / "labelfree.json")
    by_name = {e["name"]: e for e in metrics.get("retrievers", {}).values()}
    base = by_name["base"]["metrics"]["nDCG@10"]
    rows = []
    for name, lf in labelfree.get("models", {}).items():
        entry = by_name[name]
        result = _read(_train_folder(run, name) / "manifest.json").get("counts", {}).get(
            "result")
        if result is None:  # not finished: no pair
            continue
        vs = entry.get("vs_baseline") or {}
        dev = (result["base_dev_loss"] - result["best_dev_loss"]
               if result.get("best_dev_loss") is not None else 0.0)
        agree = (agreement[name]["all"]["ndcg10_vs_teacher"]
                 - agreement["base"]["all"]["ndcg10_vs_teacher"]) if agreement else 0.0
        m = lf["metrics"]
        rows.append({"collection": run.name, "model": name, "kept": result.get("kept"),
                     "true": entry["metrics"]["nDCG@10"] - base,
                     "p": vs.get("p_permutation", 1.0), "dev loss": dev,
                     "teacher agreement": agree, "source MRR@10": m["MRR@10"]["all"]["delta"],
                     "reference nDCG@10": m["nDCG@10"]["all"]["delta"],
                     "combined": m["combined"]["all"]["delta"],
                     "verdict": lf["verdict"], "probe queries": labelfree["queries"]})
    return rows


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def summary(rows: list[dict]) -> list[dict]:
    out = []
    for s in SIGNALS:
        big = [r for r in rows if abs(r["true"]) >= 0.01]
        tau = stats.kendalltau([r[s] for r in rows], [r["true"] for r in rows]).statistic \
            if len(rows) > 2 else float("nan")
        shipped = [r for r in rows if r[s] > 0]
        out.append({"signal": s,
                    "sign agrees": f"{sum(_sign(r[s]) == _sign(r['true']) for r in rows)}"
                                   f"/{len(rows)}",
                    "sign agrees, |true Δ| >= 0.01":
                        f"{sum(_sign(r[s]) == _sign(r['true']) for r in big)}/{len(big)}",
                    "Kendall τ": f"{tau:+.2f}",
                    "ships true Δ < -0.005": sum(r["true"] < -0.005 for r in shipped),
                    "ships significantly worse": sum(r["true"] < 0 and r["p"] < 0.05
                                                     for r in shipped)})
    shipped = [r for r in rows if r["dev loss"] > 0 and r["verdict"] != "worse"]
    out.append({"signal": VETO, "sign agrees": "-", "sign agrees, |true Δ| >= 0.01": "-",
                "Kendall τ": "-", "ships true Δ < -0.005": sum(r["true"] < -0.005
                                                               for r in shipped),
                "ships significantly worse": sum(r["true"] < 0 and r["p"] < 0.05
                                                 for r in shipped)})
    return out


def _table(rows: list[dict], cols: list[str]) -> str:
    def fmt(v):
        return f"{v:+.4f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--preamble", type=Path, default=None,
                    help="Markdown file put before the tables (setup and commands)")
    ap.add_argument("--postscript", type=Path, default=None,
                    help="Markdown file put after the tables (findings, configs)")
    args = ap.parse_args(argv)
    every = [r for run in args.runs for r in pairs(run)]
    rows = [r for r in every if r["kept"] != "base"]  # a kept base model measures nothing
    text = ((args.preamble.read_text() + "\n") if args.preamble else "")
    skipped = [f"{r['collection']}/{r['model']}" for r in every if r["kept"] == "base"]
    if skipped:
        text += ("Left out (the run's own guard exported the base model, so its test Δ is 0 "
                 "by construction): " + ", ".join(skipped) + "\n\n")
    text += "## Pairs\n\n" + _table(rows, ["collection", "model", "kept", "true", "p",
                                           *SIGNALS, "verdict", "probe queries"])
    text += "\n\n## Signals against the true test Δ\n\n" + _table(summary(rows), [
        "signal", "sign agrees", "sign agrees, |true Δ| >= 0.01", "Kendall τ",
        "ships true Δ < -0.005", "ships significantly worse"]) + "\n"
    text += ("\nCommand: `python benchmarks/verdict.py "
             + " ".join(str(r) for r in args.runs) + "`\n")
    if args.postscript:
        text += "\n" + args.postscript.read_text()
    if args.out:
        args.out.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
