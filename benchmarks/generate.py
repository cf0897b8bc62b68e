"""Benchmark synthetic query generation: prompt layouts and decoding paths, against the limit.

On the same seeded sample of passages of each collection, every arm is a normal
(resumable) generate run followed by the mine stage's round-trip filter. Per arm:
accepted (passage, type) pairs per second, acceptance after resampling, first-try
pass rate per type, the round-trip pass rate at the mine stage, and sample queries.

Arms (one model, one build, the same threads; each arm's generation runs in its own
process so that its environment applies to OpenMP):
- ``paper``: corpusfit's previous default as `corpusfit run` ran it: the per-passage layout
  (examples of the request's own type drawn anew per passage, instruction before the
  passage, 50 new tokens for every type, no stop string: every prompt is evaluated from
  scratch) with ``OMP_WAIT_POLICY=PASSIVE``, which the CLI used to set;
- ``paper-spin``: the same layout with OpenMP's default wait policy (the layout's effect
  alone);
- ``sequential``: the shared-prefix layout (per-type token budgets, stop at a newline)
  decoded one request after another, 10 pairs per call (the default before batched
  decoding): each request reuses the prefix it shares with the previous one;
- ``default``: today's defaults: the same layout and sampling, decoded in batches
  (``decode: batched``, ``parallel`` sequences per step from once-evaluated shared
  prefixes).

The limit: the model's prompt-processing (pp512) and generation (tg128, and B sequences
together) rates on this machine at the same threads (``benchmarks/llama_rates.py``), and
for each collection the tokens the default arm needed: its distinct prompt prefixes
(every shared prefix counted once) and its sampled tokens. ``limit`` = accepted pairs /
(needed prompt tokens / pp + sampled tokens / pp): generation batched to the efficiency of
prompt processing; ``1-seq limit`` = the same with sampled tokens at tg (no batching).

Seconds are the generate stage's own (its manifest), so an arm finished by an earlier
invocation keeps its time.

    .venv/bin/python benchmarks/generate.py ../shared/datasets/{cranfield,cisi,cacm} \\
        --passages 40 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections import Counter, defaultdict
from pathlib import Path

from corpusfit import run_generate, run_ingest, run_mine
from corpusfit.data.ingest import IngestConfig
from corpusfit.evaluate.tables import markdown_table, text_table
from corpusfit.generate import GenerateConfig, backend_config
from corpusfit.generate.config import SamplingConfig
from corpusfit.generate.types import BUILTIN_TYPES
from corpusfit.retrieve.mine import MineConfig
from corpusfit.workspace import iter_jsonl_tolerant, write_text

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["collection", "arm", "pairs", "accepted", "acceptance", "first-try pass",
           "seconds", "accepted pairs/s", "speed-up", "round-trip pass",
           *[f"{t} acc/1st" for t in BUILTIN_TYPES]]
PAPER = dict(prompt="per-passage", sampling=SamplingConfig(per_type_budget=False, stop=[]),
             batch_size=10)
ARMS = {"paper": PAPER, "paper-spin": PAPER, "sequential": {"batch_size": 10}, "default": {}}
BACKEND = {"paper": {"decode": "sequential"}, "paper-spin": {"decode": "sequential"},
           "sequential": {"decode": "sequential"}}
ENV = {"paper": {"OMP_WAIT_POLICY": "PASSIVE"}}
TOKENS = "tokens.json"  # the batched decoder's token counts, next to the arm's queries


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", nargs="+", help="BEIR folders")
    p.add_argument("--passages", type=int, default=40)
    p.add_argument("--arms", nargs="+", default=["sequential", "default"], choices=list(ARMS))
    p.add_argument("--rates", default=None, help="JSON of rates measured by an earlier run "
                   "(from its output), instead of measuring them again")
    p.add_argument("--parallel", type=int, default=None, help="default arm: sequences "
                   "decoded together (default: the backend's)")
    p.add_argument("--extra-arm-on", nargs=2, action="append", default=[],
                   metavar=("ARM", "COLLECTION"), help="also run ARM on one collection")
    p.add_argument("--model", default="qwen2.5-coder-0.5b")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--out", default="/tmp/corpusfit-bench-generate")
    p.add_argument("--results", default=str(ROOT / "benchmarks" / "results" / "generate.md"))
    return p.parse_args()


def first_try(out: Path) -> Counter:
    counts: Counter = Counter()
    for rec in iter_jsonl_tolerant(out / "queries.jsonl"):
        counts[rec["type"]] += rec.get("attempts", 1) == 1
    return counts


def generate_in_env(config: GenerateConfig, ingest: Path, out: Path, env: dict) -> None:
    """The generate stage in a child process whose environment includes ``env``."""
    from corpusfit.isolation import run_in_child

    saved = {k: os.environ.get(k) for k in [*env, "OMP_WAIT_POLICY"]}
    os.environ.pop("OMP_WAIT_POLICY", None)
    os.environ.update(env)
    try:
        run_in_child(_generate, config, ingest, out, what=f"generate ({env or 'default env'})")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _generate(config: GenerateConfig, ingest: Path, out: Path) -> None:
    """The generate stage; with the batched decoder, its token counts go to ``tokens.json``."""
    from corpusfit.generate.backends import llama_batch

    counts = {"evaluated": 0, "sampled": 0, "decodes": 0}
    prefixes: set[int] = set()
    run, close = llama_batch.BatchDecoder.run, llama_batch.BatchDecoder.close

    def counting_run(self, prompts):
        for p in prompts:  # every distinct prefix once: what a perfect cache evaluates
            h = 0
            for t in p.tokens:
                h = hash((h, t))
                prefixes.add(h)
        return run(self, prompts)

    def counting_close(self):
        counts["evaluated"] += self.evaluated
        counts["sampled"] += self.generated
        counts["decodes"] += self.steps
        close(self)

    llama_batch.BatchDecoder.run, llama_batch.BatchDecoder.close = counting_run, counting_close
    run_generate(config, ingest, out, progress=True)
    if counts["sampled"]:
        (out / TOKENS).write_text(json.dumps({**counts, "needed": len(prefixes)}))


def run_arm(args, data: Path, arm: str) -> dict:
    base = Path(args.out) / data.name
    run_ingest(IngestConfig(sample=args.passages, seed=args.seed), data, base / "ingest")
    out = base / arm
    extra = {"parallel": args.parallel} if arm == "default" and args.parallel else {}
    config = GenerateConfig(seed=args.seed, backend=backend_config(
        model=args.model, n_threads=args.threads, **BACKEND.get(arm, {}), **extra),
        **ARMS[arm])
    generate_in_env(config, base / "ingest", out / "generate", ENV.get(arm, {}))
    summary = run_generate(config, base / "ingest", out / "generate", progress=False)
    manifest = json.loads((out / "generate" / "manifest.json").read_text())
    wall = manifest["timings"]["seconds"]
    mined = run_mine(MineConfig(), out / "generate" / "queries.jsonl",
                     base / "ingest" / "corpus.jsonl", out / "mine",
                     cache_dir=base / "emb-cache").counts
    first = first_try(out / "generate")
    pairs = summary.total_accepted + summary.total_rejected
    row = {"collection": data.name, "arm": arm, "pairs": pairs,
           "accepted": summary.total_accepted, "acceptance": f"{summary.acceptance():.1%}",
           "first-try pass": f"{sum(first.values()) / max(pairs, 1):.1%}",
           "seconds": round(wall), "_rate": summary.total_accepted / wall,
           "accepted pairs/s": round(summary.total_accepted / wall, 3),
           "round-trip pass": f"{1 - mined['round_trip_dropped'] / max(mined['queries'], 1):.1%}"
                              f" of {mined['queries']}"}
    for t in BUILTIN_TYPES:
        n = summary.accepted[t] + sum(summary.rejected.get(t, {}).values())
        row[f"{t} acc/1st"] = f"{summary.accepted[t]}/{first[t]} of {n}"
    tokens = out / "generate" / TOKENS
    if tokens.exists():
        row["_tokens"] = json.loads(tokens.read_text())
    row["_reasons"] = dict(sum(summary.rejected.values(), Counter()))
    row["_retried"] = manifest["counts"].get("retried", {})  # of the run that generated
    return row


def samples(out: Path, per_type: int = 3) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = defaultdict(list)
    for rec in iter_jsonl_tolerant(out / "queries.jsonl"):
        if len(chosen[rec["type"]]) < per_type:
            chosen[rec["type"]].append(f"[{rec['source_id']}] {rec['text']}")
    return chosen


def add_speedups(rows: list[dict], reference: str) -> None:
    ref_rates = {r["collection"]: r["_rate"] for r in rows if r["arm"] == reference}
    for r in rows:
        ref = ref_rates.get(r["collection"])
        r["speed-up"] = f"{r['_rate'] / ref:.2f}x" if ref else "-"


def add_limits(rows: list[dict], rates: dict) -> list[dict]:
    """Per collection: the default arm's tokens and the pairs/s they allow at ``rates``."""
    limits = []
    for r in rows:
        tok = r.get("_tokens")
        if r["arm"] != "default" or not tok:
            continue
        seconds = tok["needed"] / rates["pp"] + tok["sampled"] / rates["pp"]
        single = tok["needed"] / rates["pp"] + tok["sampled"] / rates["tg"]
        limit = r["accepted"] / seconds
        limits.append({
            "collection": r["collection"], "pairs": r["pairs"], "accepted": r["accepted"],
            "needed prompt tok/pair": round(tok["needed"] / r["pairs"]),
            "evaluated prompt tok/pair": round(tok["evaluated"] / r["pairs"]),
            "sampled tok/pair": round(tok["sampled"] / r["pairs"], 1),
            "limit pairs/s": round(limit, 3),
            "1-seq limit pairs/s": round(r["accepted"] / single, 3),
            "default pairs/s": round(r["_rate"], 3),
            "limit / default": f"{limit / r['_rate']:.2f}x"})
    return limits


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def report(args, rows: list[dict], rates: dict | None) -> str:
    from corpusfit.native import cpu_backend

    backend = cpu_backend()
    lines = [
        "# Synthetic query generation: decoding paths and prompt layouts vs the machine's limit",
        "",
        f"Data: {', '.join(sorted({r['collection'] for r in rows}))} (`../shared/datasets`), "
        f"the same seeded sample (seed {args.seed}) of {args.passages} passages per "
        "collection for every arm; all 5 built-in types; 3 few-shot examples; temperature 0.8; "
        "up to 3 attempts per (passage, type).",
        f"Model: `{args.model}` (Qwen2.5-Coder-0.5B-Instruct Q4, bundled) in llama.cpp, "
        f"{args.threads} threads, CPU kernels `{backend.variant}` ({backend.reason}); "
        "OpenMP wait policy as the arm says; "
        f"machine: {cpu_name()}, {os.cpu_count()} cores, alone on it (`flock -x`).",
        "Round-trip pass: share of accepted queries whose source passage is in the top 20 of "
        "MiniLM or BM25 over the whole collection (the mine stage's filter).", "",
        "Command: `" + " ".join([".venv/bin/python", "benchmarks/generate.py",
                                 *sys.argv[1:]]) + "`", "",
        "`acc/1st of n`: accepted after resampling / accepted on the first try / pairs.", "",
        markdown_table(rows, COLUMNS), ""]
    if rates:
        limits = add_limits(rows, rates)
        batch = ", ".join(f"B={b}: {v}" for b, v in rates["tg_batch"].items())
        lines += ["## The machine's limit", "",
                  f"`{args.model}` at {rates['threads']} threads, CPU kernels "
                  f"`{rates['variant']}`: prompt processing (pp512) **{rates['pp']} tokens/s**, "
                  f"single-sequence generation (tg128) **{rates['tg']} tokens/s**, B sequences "
                  f"generating together: {batch} tokens/s (`benchmarks/llama_rates.py`, best "
                  "of 2).", "",
                  "Needed prompt tokens: the distinct prefixes of every prompt the default arm "
                  "sent (retries included), each shared prefix once; evaluated: what its "
                  "decoder evaluated; sampled: tokens it sampled (all attempts).", "",
                  markdown_table(limits, list(limits[0]) if limits else ["collection"]), ""]
    lines += ["## Rejection reasons (final records)", ""]
    for row in rows:
        lines.append(f"- {row['collection']} {row['arm']}: {json.dumps(row['_reasons'])}; "
                     f"resampled after: {json.dumps(row['_retried'])}")
    lines += ["", "## Sample accepted queries (first 3 per type)", ""]
    for row in rows:
        lines.append(f"### {row['collection']}, {row['arm']}")
        out = Path(args.out) / row["collection"] / row["arm"] / "generate"
        for t, qs in samples(out).items():
            lines.append(f"- {t}: " + " | ".join(qs))
        lines.append("")
    return "\n".join(lines) + "\n"


def machine_rates(args) -> dict:
    """llama-bench style rates of the model at the benchmark's threads, in a child process."""
    from corpusfit.isolation import run_in_child

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import llama_rates

    return run_in_child(llama_rates.measure, args.model, args.threads, what="llama rates")


def main() -> int:
    args = parse_args()
    reference = "sequential" if "sequential" in args.arms else "paper"
    rates = json.loads(args.rates) if args.rates else machine_rates(args)
    print(json.dumps(rates), flush=True)
    rows = []
    for data in args.data:
        extra = [a for a, name in args.extra_arm_on if name == Path(data).name]
        for arm in [*args.arms, *extra]:
            rows.append(run_arm(args, Path(data), arm))
            add_speedups(rows, reference)
            print(text_table(rows, COLUMNS[:10]), flush=True)
    write_text(args.results, report(args, rows, rates))
    print(f"\nwritten to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
