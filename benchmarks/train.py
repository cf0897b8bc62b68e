"""Training step cost vs effective batch, with GradCache on and off.

Each (batch, gradcache) trial runs in a fresh process. It builds lists from the
corpus (query = a passage's title, list = that passage + random others; the scores
only have to be valid, this measures cost, not quality), runs one untimed warm-up
step of 4 queries, then times full optimizer steps (embed, loss, backward/replay,
clip, AdamW) at the given number of queries. Peak memory is the growth of resident
memory over the process's level before the timed step (VmHWM reset through
/proc/self/clear_refs), or torch.cuda.max_memory_allocated on a GPU.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/train.py --batches 32 128 512
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import random
import time
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "train.md"


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _make_data(corpus_path: str, n: int, list_size: int, seed: int):
    from corpusfit.data.artifacts import TrainingList
    from corpusfit.data.readers import load_corpus
    from corpusfit.train.data import TrainData

    corpus = load_corpus(corpus_path)
    ids = [d for d in corpus if corpus[d].title]
    rng = random.Random(seed)
    data = TrainData([], [], [], [])
    for d in ids:
        data.key_of[d] = len(data.doc_ids)
        data.doc_ids.append(d)
        data.doc_texts.append(corpus[d].full_text())
    for i in range(n):
        src = ids[i % len(ids)]
        docs = [src, *rng.sample([x for x in ids if x != src], list_size - 1)]
        scores = [1.0, *sorted((rng.random() for _ in docs[1:]), reverse=True)]
        data.train.append(TrainingList(qid=f"q{i}", query=corpus[src].title, type="title",
                                       source_id=src, doc_ids=docs, scores=scores,
                                       raw_scores=scores, split="train"))
    return data


def _trial(args, batch: int, gradcache: bool, q) -> None:
    import torch

    from corpusfit.retrieve.encoder import DenseEncoder
    from corpusfit.train.config import TrainConfig
    from corpusfit.train.distributed import DistContext
    from corpusfit.train.trainer import Trainer

    torch.manual_seed(args.seed)
    cfg = TrainConfig(student=args.model, mode="full", queries_per_step=batch,
                      chunk_size=args.chunk, gradcache=gradcache,
                      passage_max_length=args.passage_max_length, seed=args.seed)
    enc = DenseEncoder.load(args.model, cfg.encoder_options(), device=args.device)
    data = _make_data(args.data, batch * (args.steps + 1) + 4, args.list_size, args.seed)
    tr = Trainer(cfg, data, enc, DistContext(), total_steps=100)
    tr.train_step(data.train[:4], 0)  # warm-up: allocator, optimizer state
    cuda = enc.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS counter
        base = _rss_kb("VmRSS") * 1024
    start = time.perf_counter()
    for s in range(args.steps):
        lists = data.train[4 + s * batch: 4 + (s + 1) * batch]
        tr.train_step(lists, s + 1)
    if cuda:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = _rss_kb("VmHWM") * 1024
    seconds = (time.perf_counter() - start) / args.steps
    passages = len({d for x in data.train[4:4 + batch] for d in x.doc_ids})
    q.put({"batch": batch, "gradcache": gradcache, "sec_per_step": seconds,
           "peak_mb": (peak - base) / 2**20, "passages": passages,
           "threads": torch.get_num_threads(), "device": str(enc.device)})


def run_trial(args, batch: int, gradcache: bool) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_trial, args=(args, batch, gradcache, q))
    p.start()
    result = q.get()
    p.join()
    return result


def _markdown(rows: list[dict], args, cmd: str) -> str:
    lines = ["# Training step cost vs effective batch (GradCache on/off)", "",
             f"- date: {date.today()}, machine: {platform.machine()} {os.cpu_count()} CPUs "
             f"(shared with other jobs), device: {rows[0]['device']}, "
             f"torch threads: {rows[0]['threads']}",
             f"- model: {args.model} (full mode: query and passage side trained), "
             f"list size {args.list_size}, passage max length {args.passage_max_length}, "
             f"query max length 64, GradCache chunk {args.chunk} texts, seed {args.seed}",
             f"- data: {args.data} (query = passage title, list = that passage + random others)",
             f"- timed: mean of {args.steps} optimizer step(s) after a 4-query warm-up step; "
             "peak = growth of peak memory over the level before the timed steps",
             f"- command: `{cmd}`", "",
             "| queries/step | passages/step | GradCache | s/step | peak MB |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['batch']} | {r['passages']} | {'on' if r['gradcache'] else 'off'} "
                     f"| {r['sec_per_step']:.1f} | {r['peak_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import sys

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/datasets/cranfield")
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--batches", type=int, nargs="+", default=[32, 128, 512])
    ap.add_argument("--list-size", type=int, default=2)
    ap.add_argument("--passage-max-length", type=int, default=32)
    ap.add_argument("--chunk", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()

    rows = []
    for batch in args.batches:
        for gradcache in (True, False):
            r = run_trial(args, batch, gradcache)
            rows.append(r)
            print(f"batch {batch:5d}  gradcache {'on ' if gradcache else 'off'}  "
                  f"{r['sec_per_step']:7.1f} s/step  peak +{r['peak_mb']:7.0f} MB", flush=True)
    cmd = "OMP_NUM_THREADS=" + os.environ.get("OMP_NUM_THREADS", "?") + " " + \
        " ".join([".venv/bin/python", *sys.argv])
    text = _markdown(rows, args, cmd)
    print()
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
