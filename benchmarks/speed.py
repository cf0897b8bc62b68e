"""Throughput and peak memory of each corpusfit stage, and how mining scales with corpus size.

Sections (``--only`` runs some; the others already in the output file are kept):
generate (bundled Qwen2.5-Coder-0.5B GGUF vs a plain llama-cpp-python loop), encode
(DenseEncoder vs SentenceTransformer.encode), teacher (offline ensemble vs a naive per-pair
loop; query likelihood with vs without KV reuse), train (seconds per optimizer step), mine
(1k/10k/100k synthetic passages). Each measurement runs in a fresh spawned process; peak
memory is VmHWM during the measured work (reset through /proc/self/clear_refs) and its
growth over the resident level just before it.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/speed.py
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import re
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from importlib.metadata import version
from pathlib import Path

# corpusfit modules imported here do not import torch; heavy ones are imported per trial.
from corpusfit import run_generate, run_ingest, run_mine
from corpusfit.data.ingest import IngestConfig
from corpusfit.data.readers import load_beir, load_corpus
from corpusfit.evaluate.tables import markdown_table, text_table
from corpusfit.generate import GenerateConfig, backend_config, runner
from corpusfit.generate.config import DEFAULT_GGUF
from corpusfit.generate.types import BUILTIN_TYPES
from corpusfit.models import resolve_gguf, resolve_model
from corpusfit.retrieve import mine
from corpusfit.retrieve.bm25 import BM25Index
from corpusfit.retrieve.index import DenseIndex
from corpusfit.retrieve.trec import ranked
from corpusfit.teach.base import build_teacher
from corpusfit.teach.config import LabelConfig, offline_teacher, teacher_config
from corpusfit.teach.normalization import weighted_zsum
from corpusfit.train.config import TrainConfig
from corpusfit.workspace import write_jsonl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import _make_data, _rss_kb  # noqa: E402  (benchmarks/train.py)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
CRANFIELD = SHARED / "cranfield"
RESULTS = Path(__file__).resolve().parent / "results" / "speed.md"
SECTIONS = ["generate", "encode", "teacher", "train", "mine"]
MEM = ["peak MB", "+MB"]


def _n(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _start() -> tuple[int, float]:
    """Reset the peak-RSS counter; (resident kB, clock) before the measured work."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _rss_kb("VmRSS"), time.perf_counter()


def _stop(start: tuple[int, float], row: dict, minus: float = 0.0, **counts) -> dict:
    """``row`` + counts, seconds (less ``minus``), a rate per count and peak memory."""
    secs = time.perf_counter() - start[1] - minus
    hwm = _rss_kb("VmHWM")
    row = {**row, **counts, "seconds": secs, "s": _n(secs)}
    row.update({f"{k}/s": _n(v / secs) for k, v in counts.items()})
    return {**row, "peak MB": round(hwm / 1024), "+MB": round((hwm - start[0]) / 1024)}


def measure(fn, **kwargs):
    """``fn(**kwargs)`` in a fresh spawned process; returns its (picklable) result."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, **kwargs).result()


def _log(msg) -> None:
    print(f"[speed {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def gen_corpusfit(args, tmp: str):
    n_types = min(len(BUILTIN_TYPES), args.gen_pairs)
    run_ingest(IngestConfig(sample=-(-args.gen_pairs // n_types), seed=args.seed), CRANFIELD,
               Path(tmp) / "ingest")
    load, sent, real = [0.0], [], runner.create_backend

    def create(cfg):  # times the model load; records every request and its completion
        t0 = time.perf_counter()
        backend = real(cfg)
        load[0] = time.perf_counter() - t0
        inner = backend.generate

        def generate(requests, sampling):
            comps = inner(requests, sampling)
            sent.extend({"messages": r.messages, "seed": r.seed, "text": c.text}
                        for r, c in zip(requests, comps))
            return comps
        backend.generate = generate
        return backend

    runner.create_backend = create
    cfg = GenerateConfig(types=list(BUILTIN_TYPES[:n_types]), seed=args.seed,
                         backend=backend_config(n_threads=args.threads))
    start = _start()
    s = run_generate(cfg, Path(tmp) / "ingest", Path(tmp) / "out", progress=False)
    row = _stop(start, {"method": "corpusfit run_generate", "load s": _n(load[0]),
                        "same text": "-"}, minus=load[0], pairs=s.new_records,
                accepted=s.total_accepted, generations=s.generations)
    return row, sent, cfg.sampling.model_dump()


def gen_plain(args, sent: list[dict], sampling: dict, pairs: int):
    from llama_cpp import Llama
    path = str(resolve_gguf(DEFAULT_GGUF))
    start = _start()
    llm = Llama(model_path=path, n_ctx=4096, n_threads=args.threads,
                n_threads_batch=args.threads, verbose=False)
    load, same = time.perf_counter() - start[1], 0
    for r in sent:
        out = llm.create_chat_completion(r["messages"], temperature=sampling["temperature"],
                                         top_p=sampling["top_p"],
                                         max_tokens=sampling["max_new_tokens"], seed=r["seed"])
        same += out["choices"][0]["message"]["content"] == r["text"]
    row = {"method": "plain Llama.create_chat_completion loop", "accepted": "-",
           "load s": _n(load), "same text": f"{same}/{len(sent)}"}
    return _stop(start, row, minus=load, pairs=pairs, generations=len(sent))


def section_generate(args):
    with tempfile.TemporaryDirectory(prefix="speed-gen-") as tmp:
        row, sent, sampling = measure(gen_corpusfit, args=args, tmp=tmp)
    _log(row)
    plain = measure(gen_plain, args=args, sent=sent, sampling=sampling, pairs=row["pairs"])
    notes = [f"{row['pairs']} (passage, type) pairs of Cranfield (ingest sample, seed "
             f"{args.seed}; built-in types, 3 few-shot examples, up to 3 attempts) through "
             "`run_generate`, default llama-cpp backend: bundled Qwen2.5-Coder-0.5B-Instruct "
             f"Q4 GGUF, n_ctx 4096, {args.threads} threads, sampling {json.dumps(sampling)}",
             "plain loop: corpusfit's exact requests (messages, seeds, resampled attempts) "
             "replayed through `Llama.create_chat_completion`, same file and sampling; "
             "`same text` = outputs identical to corpusfit's; `s` excludes `load s`"]
    return [row, plain], ["method", "pairs", "accepted", "generations", "load s", "s",
                          "pairs/s", "accepted/s", "generations/s", "same text", *MEM], notes


def encode_trial(args, method: str):
    texts = [d.full_text() for d in load_corpus(CRANFIELD).values()][:args.encode_docs]
    path = resolve_model("minilm")
    if method.startswith("sentence"):
        from sentence_transformers import SentenceTransformer
        st = SentenceTransformer(path, device="cpu")
        st.max_seq_length, tok = 256, st.tokenizer

        def run(xs):
            st.encode(xs, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    else:
        from corpusfit.retrieve.encoder import DenseEncoder
        enc = DenseEncoder.load(path, device="cpu")
        tok = enc.model.tokenizer
        kw = {} if method == "corpusfit" else {"batch_tokens": 32 * 256, "max_batch": 32}

        def run(xs):
            enc.encode(xs, "passage", show_progress=False, **kw)
    tokens = sum(len(x) for x in tok(texts, truncation=True, max_length=256)["input_ids"])
    run(texts[:8])  # warm-up
    start = _start()
    run(texts)
    return _stop(start, {"method": method}, docs=len(texts), tokens=tokens)


def section_encode(args):
    rows = [measure(encode_trial, args=args, method=m)
            for m in ("corpusfit", "corpusfit batch 32", "sentence-transformers batch 32")]
    notes = [f"first {rows[0]['docs']} Cranfield documents (`title + \" \" + text`), minilm, "
             "max length 256, fp32; tokens counted with its tokenizer (truncated at 256); "
             "after an 8-text warm-up call",
             "corpusfit = `DenseEncoder.encode` defaults (length-sorted batches of at most "
             "16384 tokens / 256 texts); `batch 32` = at most 32 texts / 8192 tokens; "
             "sentence-transformers: batch_size 32"]
    return rows, ["method", "docs", "tokens", "s", "docs/s", "tokens/s", *MEM], notes


def _teacher_lists(n_queries: int):
    data = load_beir(CRANFIELD, "test")
    texts = {d: doc.full_text() for d, doc in data.corpus.items()}
    qids = sorted(data.queries, key=int)[:n_queries]
    run = BM25Index(list(texts), list(texts.values())).run(
        qids, [data.queries[q].text for q in qids], k=30)
    return texts, [(data.queries[q].text, [texts[d] for d, _ in ranked(run[q], 30)])
                   for q in qids]


def teacher_trial(args, method: str, n_queries: int):
    texts, lists = _teacher_lists(n_queries)
    scores = []
    if method == "corpusfit":
        teacher = build_teacher(offline_teacher(), corpus=texts)
        teacher.score_lists([("warm-up", ["warm-up passage", "another passage"])])
        start = _start()
        for i in range(0, len(lists), 32):  # the label stage's chunk_queries
            scores += teacher.score_lists(lists[i:i + 32])
    else:
        import numpy as np
        from sentence_transformers import SentenceTransformer
        st = SentenceTransformer(resolve_model("minilm"), device="cpu")
        bm25 = build_teacher(teacher_config(kind="bm25"), corpus=texts)
        st.encode("warm-up")
        start = _start()
        for query, passages in lists:
            cos, lex = [], []
            for p in passages:
                eq = st.encode(query, normalize_embeddings=True, show_progress_bar=False)
                ep = st.encode(p, normalize_embeddings=True, show_progress_bar=False)
                cos.append(float(np.dot(eq, ep)))
                lex.append(bm25.score_pairs([(query, p)])[0])
            scores.append([float(x) for x in weighted_zsum([cos, lex], [1.0, 1.0])])
    return _stop(start, {"teacher": "z(MiniLM)+z(BM25)", "method": method},
                 pairs=sum(len(p) for _, p in lists)), [x for s in scores for x in s]


def ql_trial(args, reuse: bool):
    n_pass, n_q = (int(x) for x in args.ql_pairs.lower().split("x"))
    data = load_beir(CRANFIELD, "test")
    passages = [data.corpus[d].full_text() for d in sorted(data.corpus, key=int)[:n_pass]]
    queries = [data.queries[q].text for q in sorted(data.queries, key=int)[:n_q]]
    teacher = build_teacher(teacher_config(kind="query-likelihood", model="smollm2",
                                          n_threads=args.threads, kv_reuse=reuse))
    teacher.score_pairs([("warm-up query", "a warm-up passage")])
    start = _start()
    scores = teacher.score_pairs([(q, p) for p in passages for q in queries])
    return _stop(start, {"teacher": "QL SmolLM2-135M", "method": f"kv_reuse={reuse}"},
                 pairs=len(scores)), scores


def _compare(fast: dict, slow: dict, fast_scores: list, slow_scores: list) -> None:
    """Speed-up on the fast row; the largest score difference on shared pairs on the slow."""
    fast["speed-up"] = _n(fast["pairs"] / fast["seconds"] * slow["seconds"] / slow["pairs"])
    slow["max abs diff"] = f"{max(abs(a - b) for a, b in zip(fast_scores, slow_scores)):.1e}"


def section_teacher(args):
    n_naive = max(1, -(-args.naive_pairs // 30))
    fast, fast_scores = measure(teacher_trial, args=args, method="corpusfit",
                                n_queries=args.teacher_queries)
    naive, naive_scores = measure(teacher_trial, args=args, method="naive per-pair loop",
                                  n_queries=n_naive)
    _compare(fast, naive, fast_scores, naive_scores)
    rows = [fast, naive]
    if args.ql_pairs != "0":
        (reuse, s1), (plain, s2) = (measure(ql_trial, args=args, reuse=r) for r in (True, False))
        _compare(reuse, plain, s1, s2)
        rows += [reuse, plain]
    notes = [f"ensemble: the first {args.teacher_queries} Cranfield test queries x their BM25 "
             "top 30, `build_teacher(offline_teacher())`, 32 lists per call as the label "
             f"stage (no embedding cache); naive: the first {n_naive} of those queries, each "
             "pair alone (`SentenceTransformer.encode` of query and passage, cosine, the BM25 "
             "member on that one pair), then the same per-list z-sum",
             f"QL: bundled SmolLM2-135M-Instruct Q4_1 GGUF, {args.threads} llama.cpp threads, "
             f"{args.ql_pairs} (passages x queries) pairs, passage KV cache reused or not",
             "speed-up = pairs/s over the row below; `max abs diff` = largest score "
             "difference to the row above on the same pairs; model load and a warm-up "
             "call excluded"]
    return rows, ["teacher", "method", "pairs", "s", "pairs/s", "speed-up", "max abs diff",
                  *MEM], notes


def train_trial(args, mode: str, batch: int):
    import torch

    from corpusfit.retrieve.encoder import DenseEncoder
    from corpusfit.train.distributed import DistContext
    from corpusfit.train.trainer import Trainer, build_passage_bank
    torch.manual_seed(args.seed)
    cfg = TrainConfig(mode=mode, queries_per_step=batch, seed=args.seed, device="cpu")
    enc = DenseEncoder.load(cfg.student, cfg.encoder_options(), device="cpu",
                            query_only=mode == "query_only")
    data = _make_data(str(CRANFIELD), batch * args.steps + 4, LabelConfig().list_size,
                      args.seed)
    used = list(dict.fromkeys(d for x in data.train for d in x.doc_ids))  # as load_training_data
    text_of = dict(zip(data.doc_ids, data.doc_texts))
    data.doc_ids[:], data.doc_texts[:] = used, [text_of[d] for d in used]
    data.key_of = {d: i for i, d in enumerate(used)}
    bank, row = None, {"mode": mode, "queries/step": batch, "bank passages": "-", "bank s": "-"}
    if mode == "query_only":  # as train/loop.py: frozen base-model passage vectors
        with tempfile.TemporaryDirectory(prefix="speed-bank-") as tmp:
            t0 = time.perf_counter()
            bank = build_passage_bank(enc, data, tmp, DistContext(), show_progress=False)
            row.update({"bank passages": len(used), "bank s": _n(time.perf_counter() - t0)})
    tr = Trainer(cfg, data, enc, DistContext(), total_steps=100, passage_bank=bank)
    tr.train_step(data.train[:4], 0)  # warm-up: allocator, optimizer state
    start = _start()
    for s in range(args.steps):
        tr.train_step(data.train[4 + s * batch: 4 + (s + 1) * batch], s + 1)
    row["passages/step"] = len({d for x in data.train[4:4 + batch] for d in x.doc_ids})
    row = _stop(start, row, queries=batch * args.steps)
    return {**row, "s/step": _n(row["seconds"] / args.steps), "threads": torch.get_num_threads()}


def section_train(args):
    rows = [measure(train_trial, args=args, mode=m, batch=b)
            for m, b in (("query_only", args.qo_queries), ("full", args.full_queries))]
    notes = ["TrainConfig defaults (minilm, list size 20, listwise + 0.1 InfoNCE, GradCache "
             "chunks of 32, query/passage max length 64/256, AdamW), CPU, "
             f"{rows[0]['threads']} torch threads; data as benchmarks/train.py (query = a "
             "Cranfield title, list = its passage + 19 random others)",
             "query_only: the passage bank (frozen base-model vectors of the listed passages) "
             "is built first, as train/loop.py does (`bank s`, not in s/step); "
             f"s/step = mean of {args.steps} optimizer step(s) after a 4-query warm-up step"]
    return rows, ["mode", "queries/step", "passages/step", "s/step", "queries/s",
                  "bank passages", "bank s", *MEM], notes


def synthetic_corpus(n: int, seed: int) -> list[dict]:
    """``n`` passages of 40-60 words from random sentences of the three shared corpora."""
    pool = [s for name in ("cranfield", "cisi", "cacm")
            for doc in load_corpus(SHARED / name).values()
            for s in re.split(r"(?<=[.!?])\s+", ". ".join(x for x in (doc.title, doc.text) if x))
            if len(s.split()) >= 3]
    rng, out = random.Random(seed), []
    for i in range(n):
        words, target = [], rng.randint(40, 60)
        while len(words) < target:
            words += rng.choice(pool).split()
        out.append({"_id": f"p{i}", "title": "", "text": " ".join(words[:target])})
    return out


def mine_trial(args, size: int):
    from corpusfit.retrieve.encoder import DenseEncoder
    times: dict[str, float] = {}

    def timed(owner, attr, key):  # add the wrapped function's wall time to times[key]
        real = getattr(owner, attr)

        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            out = real(*a, **kw)
            k = key(a, kw) if callable(key) else key
            times[k] = times.get(k, 0.0) + time.perf_counter() - t0
            _log(f"mine {size}: {k} {time.perf_counter() - t0:.1f}")
            return out
        setattr(owner, attr, wrapper)

    for owner, attr, key in [
            (DenseEncoder, "load", "model load s"), (DenseIndex, "__init__", "faiss add s"),
            (DenseEncoder, "encode", lambda a, kw: "encode queries s" if kw.get(
                "kind", a[2] if len(a) > 2 else "passage") == "query" else "encode passages s"),
            (DenseIndex, "run", "dense search s"), (BM25Index, "__init__", "bm25 index s"),
            (BM25Index, "run", "bm25 search s"), (mine, "build_candidates", "fusion+filter s")]:
        timed(owner, attr, key)
    with tempfile.TemporaryDirectory(prefix="speed-mine-") as tmp:
        docs = synthetic_corpus(size, args.seed)
        write_jsonl(Path(tmp) / "corpus.jsonl", docs)
        picks = random.Random(args.seed).sample(docs, min(args.mine_queries, size))
        write_jsonl(Path(tmp) / "queries.jsonl", (
            {"qid": f"q{i}", "text": " ".join(d["text"].split()[:8]), "type": "prefix",
             "source_id": d["_id"]} for i, d in enumerate(picks)))
        del docs, picks
        start = _start()
        res = run_mine(mine.MineConfig(), Path(tmp) / "queries.jsonl",
                            Path(tmp) / "corpus.jsonl", Path(tmp) / "out",
                            cache_dir=Path(tmp) / "emb")  # fresh cache: encoding is timed
    return _stop(start, {"queries": res.counts["queries"], "kept": res.counts["written"],
                         **{k: _n(v) for k, v in times.items()}}, passages=size)


def section_mine(args):
    rows = []
    for size in args.mine_sizes:
        _log(f"mine: {size} passages ...")
        rows.append(measure(mine_trial, args=args, size=size))
        _log(rows[-1])
    notes = [f"synthetic corpora: passages of 40-60 words (uniform) of random sentences of the "
             f"cranfield, cisi and cacm corpora (seed {args.seed}); {args.mine_queries} "
             "queries = the first 8 words of a random passage",
             "`corpusfit.stages.mine.run_mine`, default MineConfig (minilm + bm25, top 100 "
             "each, RRF k 60, round-trip filter at 20: `kept`), fresh embedding cache; "
             "sub-steps timed by wrapping the functions it calls; `s` = the whole call, "
             "including reading and writing the jsonl files; `+MB` includes the model"]
    return rows, ["passages", "queries", "kept", "s", "passages/s", "model load s",
                  "encode passages s", "encode queries s", "faiss add s", "dense search s",
                  "bm25 index s", "bm25 search s", "fusion+filter s", *MEM], notes


def header(cmd: str) -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), platform.machine())
    return "\n".join([
        "# Stage throughput and peak memory", "",
        f"- machine: {platform.platform()}, {cpu}, {os.cpu_count()} CPUs (shared with other "
        f"jobs), CPU only; torch {version('torch')}, llama-cpp-python "
        f"{version('llama_cpp_python')}, sentence-transformers {version('sentence-transformers')}",
        f"- models: minilm = all-MiniLM-L6-v2 ({resolve_model('minilm')}); generator = "
        f"Qwen2.5-Coder-0.5B-Instruct Q4 ({resolve_gguf(DEFAULT_GGUF)}); QL teacher = "
        f"SmolLM2-135M-Instruct Q4_1 ({resolve_gguf('smollm2')})",
        f"- data: {SHARED} (cranfield; cisi and cacm sentences for the mine corpora)",
        "- each row is one fresh process; `s` = seconds of the measured work, `peak MB` = peak "
        "resident memory during it, `+MB` = growth over the level just before it",
        f"- last command: `{cmd}`", ""])


def write_results(path: Path, blocks: dict[str, str], cmd: str) -> None:
    """Header + section blocks; sections not run now are kept from the old file."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    for name in SECTIONS:
        m = re.search(rf"<!-- section {name} -->\n.*?<!-- end {name} -->\n", old, re.S)
        if name not in blocks and m:
            blocks[name] = m.group(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header(cmd) + "\n" + "\n".join(blocks[n] for n in SECTIONS if n in blocks),
                    encoding="utf-8")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=SECTIONS)
    p.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--gen-pairs", type=int, default=10, help="(passage, type) pairs generated")
    p.add_argument("--encode-docs", type=int, default=400)
    p.add_argument("--teacher-queries", type=int, default=100, help="x 30 candidates")
    p.add_argument("--naive-pairs", type=int, default=300)
    p.add_argument("--ql-pairs", default="3x8", help="PASSAGESxQUERIES, 0 to skip")
    p.add_argument("--steps", type=int, default=3, help="timed optimizer steps")
    p.add_argument("--qo-queries", type=int, default=64, help="queries/step, query_only")
    p.add_argument("--full-queries", type=int, default=16, help="queries/step, full mode")
    p.add_argument("--mine-sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--mine-queries", type=int, default=200)
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse_args(argv)
    cmd = " ".join([f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '?')}",
                    ".venv/bin/python", *sys.argv])
    blocks = {}
    for name in [s for s in SECTIONS if s in args.only]:
        _log(f"section {name}")
        rows, cols, notes = globals()[f"section_{name}"](args)
        print(f"\n== {name} ==\n{text_table(rows, cols)}\n", flush=True)
        blocks[name] = "\n".join([f"<!-- section {name} -->", f"## {name}", "",
                                  f"- {date.today()}: `{cmd}`", *[f"- {n}" for n in notes],
                                  "", markdown_table(rows, cols), f"<!-- end {name} -->", ""])
        write_results(args.out, blocks, cmd)  # after each section: partial runs keep results
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
