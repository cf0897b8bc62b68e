"""A state.json for `benchmarks/incremental.py --fresh-state` from an invocation that wrote
none (before the script kept its state): the fresh arm's timings from that invocation's
report, its counts from its run directory, and per-query nDCG@10 from copies of
``06-evaluate/per_query.json`` and ``metrics.json`` taken after each seed's evaluate stage
(``seedN.json`` and ``seedN-metrics.json`` in one folder).

    python benchmarks/incremental_fresh_state.py benchmarks/results/incremental.md \\
        runs/bench-incremental/fresh COPIES_DIR runs/bench-incremental2/fresh-state.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def fresh_timing(report: str, run: Path) -> dict:
    row = next(x for x in report.splitlines() if x.startswith("| fresh |"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    stages = json.loads(report[report.index("```\n{") + 4: report.index("}\n```") + 1])
    counts = {s: json.loads((run / s / "manifest.json").read_text())["counts"]
              for s in ("02-generate", "05-train")}
    return {"to_train": {"wall": float(cells[1]), "cpu": float(cells[3])},
            "all": {"wall": float(cells[2]), "cpu": float(cells[4])},
            "stages": stages["fresh"], "generate": counts["02-generate"],
            "train": counts["05-train"]}


def seed_scores(copies: Path) -> dict[str, list]:
    scores = {}
    for f in sorted(copies.glob("seed*.json")):
        if f.stem.endswith("-metrics"):
            continue
        seed = f.stem[len("seed"):]
        metrics = json.loads((copies / f"seed{seed}-metrics.json").read_text())
        entry = next(e for e in metrics["retrievers"].values() if e["name"] == "specialized")
        per_query = json.loads(f.read_text())["retrievers"]["specialized"]
        scores[seed] = [entry["metrics"]["nDCG@10"], per_query]
    return scores


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report", type=Path)
    p.add_argument("run", type=Path, help="the fresh arm's run directory")
    p.add_argument("copies", type=Path, help="folder of seedN.json / seedN-metrics.json")
    p.add_argument("out", type=Path)
    args = p.parse_args(argv)
    state = {"timed": {"fresh": fresh_timing(args.report.read_text(), args.run)},
             "before": None, "scores": {"fresh": seed_scores(args.copies)}}
    args.out.write_text(json.dumps(state, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
