"""Which offline teacher ranks best? Rerank the MiniLM top-N with each teacher.

For each shared test collection: nDCG@10 of the MiniLM and BM25 first stages
and of every teacher reranking MiniLM's top-N (N = 20 and 30), pairs/s of each
teacher on this machine, and the CPU hours each would need to label the demo
(``--demo-pairs``, default 1000 queries x 30 pairs). Teacher scores go through
the label stage's score cache, so reruns (and N = 30 after N = 20) only score
new pairs. LLM teachers run on a fixed seeded subset of queries (``--llm-queries``);
every teacher is reported on that subset, cheap ones on all queries too.
The ensemble weight sweep is tuned on ONE collection (``--tune-on``) and judged
on the others.

``--headroom``: teacher headroom instead, as the evaluate stage measures it (see
:mod:`corpusfit.evaluate.headroom`): each teacher reranks the base MiniLM's top
``--headroom-depth`` (default 100) of the test queries, nDCG@10 against MiniLM alone with
the paired permutation p, and each member's cost (pairs per CPU-second and per wall
second); written to its own block of the Markdown file.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/teachers.py
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/teachers.py --headroom
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from pathlib import Path

from corpusfit.data.readers import load_beir
from corpusfit.evaluate.harness import Harness
from corpusfit.evaluate.metrics import evaluate, per_query
from corpusfit.evaluate.significance import paired_test
from corpusfit.evaluate.tables import markdown_table, text_table
from corpusfit.retrieve.settings import RetrievalSettings
from corpusfit.retrieve.trec import ranked
from corpusfit.teach.base import build_teacher
from corpusfit.teach.config import TeacherConfig, teacher_config
from corpusfit.teach.normalization import weighted_zsum
from corpusfit.teach.scoring import CachedScorer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DENSE = teacher_config(kind="dense", model="minilm", embedding_cache="runs/bench-teachers/emb")
BM25 = teacher_config(kind="bm25")
PRF = teacher_config(kind="bm25-prf")
BM25_STEM = teacher_config(kind="bm25", stem=True)
DEFAULT_ROW = "z(MiniLM)+z(BM25) (default)"


def headroom_specs() -> dict[str, list[tuple[str, TeacherConfig]]]:
    """The teachers of ``--headroom``: today's default and the candidates with BM25-PRF and
    with stemmed BM25 (English Snowball)."""
    return {DEFAULT_ROW: [("dense", DENSE), ("bm25", BM25)],
            "BM25": [("bm25", BM25)],
            "BM25 stemmed": [("bm25", BM25_STEM)],
            "z(MiniLM)+z(BM25 stemmed)": [("dense", DENSE), ("bm25", BM25_STEM)],
            "BM25-PRF": [("prf", PRF)],
            "z(MiniLM)+z(BM25-PRF)": [("dense", DENSE), ("prf", PRF)],
            "z(MiniLM)+z(BM25)+z(BM25-PRF)": [("dense", DENSE), ("bm25", BM25), ("prf", PRF)]}


def headroom_rows(name: str, args, timings: Timings, scorers: dict) -> list[dict]:
    """Per teacher: nDCG@10 of it reranking MiniLM's top-k vs MiniLM alone, paired p, cost,
    and its difference to today's default teacher with that paired p."""
    data = load_beir(args.datasets / name, "test")
    texts = {d: doc.full_text() for d, doc in data.corpus.items()}
    harness = Harness(data, RetrievalSettings(depth=max(100, args.headroom_depth),
                                              cache_dir=str(args.cache / "emb"),
                                              show_progress=False))
    base = harness.run("minilm")
    qids = subset(sorted(data.qrels), args.headroom_queries, args.seed)
    qrels = {q: data.qrels[q] for q in qids}
    student = per_query(qrels, {q: base.get(q, {}) for q in qids})["nDCG@10"]
    cands = {q: [d for d, _ in ranked(base.get(q, {}), args.headroom_depth)] for q in qids}
    raw: dict[str, dict[str, list[float]]] = {}
    default: dict[str, float] | None = None  # per-query nDCG@10 of today's default teacher
    rows = [{"collection": name, "teacher": "MiniLM alone (student)", "queries": len(qids),
             "nDCG@10": sum(student.values()) / len(student)}]
    for tname, members in headroom_specs().items():
        for _, cfg in members:
            have = raw.setdefault(cfg.teacher_id(), {})
            todo = [q for q in qids if q not in have]
            if todo:
                lists = [(data.queries[q].text, cands[q]) for q in todo]
                scores, stats = member_scores(scorers, cfg, texts, lists, args.cache, name)
                timings.add(cfg.teacher_id(), stats)
                have.update(zip(todo, scores))
        scores = {q: list(weighted_zsum([raw[c.teacher_id()][q] for _, c in members],
                                        [1.0] * len(members))) for q in qids}
        teacher = per_query(qrels, rerank(cands, scores))["nDCG@10"]
        t = paired_test(student, teacher)
        default = default or teacher  # the first spec is today's default
        vs = paired_test(default, teacher) if tname != DEFAULT_ROW else None
        speed = chained([timings.pairs_per_s(c.teacher_id()) for _, c in members])
        wall = chained([timings.pairs_per_s(c.teacher_id(), "seconds") for _, c in members])
        rows.append({"collection": name, "teacher": tname, "queries": t.n,
                     "nDCG@10": t.mean_b, "headroom": t.delta, "p": t.p_permutation,
                     "pairs/CPU-s": speed or "", "pairs/s wall": wall or "",
                     "CPU s / 1k pairs": 1000 / speed if speed else "",
                     "vs default": vs.delta if vs else "", "p vs default":
                     vs.p_permutation if vs else ""})
    return rows


def write_headroom_markdown(path: Path, rows: list[dict], argv: list[str]) -> None:
    """Replace the headroom block of ``path`` (between its markers), keeping the rest."""
    cols = ["collection", "teacher", "queries", "nDCG@10", "headroom", "p", "vs default",
            "p vs default", "pairs/CPU-s", "pairs/s wall", "CPU s / 1k pairs"]
    signed, pvalue = ("headroom", "vs default"), ("p", "p vs default")
    fmt = [{k: (f"{v:+.4f}" if k in signed else f"{v:.3g}" if k in pvalue else v)
            if isinstance(v, float) else v for k, v in r.items()} for r in rows]
    block = ["<!-- headroom generated by benchmarks/teachers.py --headroom -->",
             f"Command: `{' '.join(argv)}`", "", markdown_table(fmt, cols),
             "<!-- end headroom -->"]
    old = path.read_text() if path.exists() else "# Teacher benchmark\n\n"
    start, end = "<!-- headroom generated", "<!-- end headroom -->"
    if start in old and end in old:
        new = old.split(start)[0] + "\n".join(block) + old.split(end)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + "\n".join(block) + "\n"
    path.write_text(new)


def llm(kind: str, model: str, threads: int) -> TeacherConfig:
    return teacher_config(kind=kind, model=model, n_threads=threads)


def teacher_specs(args) -> dict[str, list[tuple[str, TeacherConfig]]]:
    """name -> the members whose z-scores are summed (one member: the teacher itself)."""
    t = args.threads
    specs: dict[str, list] = {"MiniLM cosine": [("dense", DENSE)], "BM25": [("bm25", BM25)],
                              "z(MiniLM)+z(BM25)": [("dense", DENSE), ("bm25", BM25)]}
    for model in args.ql_models:
        ql = llm("query-likelihood", model, t)
        specs[f"QL {model}"] = [("ql", ql)]
        specs[f"z(MiniLM)+z(BM25)+z(QL {model})"] = [("dense", DENSE), ("bm25", BM25), ("ql", ql)]
    for model in args.judge_models:
        specs[f"judge {model}"] = [("judge", llm("llm-judge", model, t))]
    return specs


def subset(qids: list[str], n: int, seed: int, pool: int = 20) -> list[str]:
    """The first ``n`` (by id) of a seeded sample of ``max(n, pool)`` queries.

    Subsets are nested (a larger ``n`` extends a smaller one, so cached scores
    are reused) and match the order in which a run scores queries.
    """
    order = sorted(qids)
    random.Random(seed).shuffle(order)
    if n <= 0:
        return order and sorted(order)
    return sorted(order[:max(n, pool)])[:n]


def member_scores(scorer_cache: dict, cfg: TeacherConfig, texts, lists, cache_dir, name):
    """Raw scores of one member for every list, scored in chunks (cached, resumable)."""
    key = (name, cfg.teacher_id())  # a teacher per collection: BM25 needs its statistics
    if key not in scorer_cache:
        scorer_cache[key] = CachedScorer(build_teacher(cfg, corpus=texts), texts, cache_dir)
    scorer = scorer_cache[key]
    out = []
    for i in range(0, len(lists), 8):
        out += scorer.score_lists(lists[i:i + 8])
    return out, scorer.stats


def chained(rates: list[float | None]) -> float | None:
    """Throughput of members run one after another on the same pairs."""
    return 1 / sum(1 / r for r in rates) if rates and all(rates) else None


def rerank(cands: dict[str, list[str]], scores: dict[str, list[float]]) -> dict:
    return {q: {d: float(s) for d, s in zip(cands[q], scores[q])} for q in cands}


def ndcg(qrels, run, qids) -> float:
    sub = {q: qrels[q] for q in qids}
    return evaluate(sub, {q: run[q] for q in qids if q in run}, None)["nDCG@10"]


class Timings:
    """pairs and seconds each teacher really spent scoring, kept across reruns."""

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {}

    def add(self, teacher_id: str, stats) -> None:
        for tid, entry in stats.by_member.items():
            if tid == teacher_id and entry["pairs"]:
                old = self.data.setdefault(tid, {"pairs": 0, "seconds": 0.0,
                                                 "cpu_seconds": 0.0})
                for k in old:
                    old[k] += entry[k]
                    entry[k] = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=1))

    def pairs_per_s(self, teacher_id: str, key: str = "cpu_seconds") -> float | None:
        """Pairs per CPU-second (default) or per wall-clock second (``key="seconds"``)."""
        e = self.data.get(teacher_id)
        return e["pairs"] / e[key] if e and e.get(key, 0) > 0 else None


def collection_rows(name: str, args, specs, timings: Timings, scorers: dict) -> list[dict]:
    data = load_beir(SHARED / name, "test")
    texts = {d: doc.full_text() for d, doc in data.corpus.items()}
    harness = Harness(data, RetrievalSettings(depth=100, cache_dir=str(args.cache / "emb"),
                                           show_progress=False))
    first = {"MiniLM": harness.run("minilm"), "BM25": harness.run("bm25")}
    all_q = sorted(data.queries)
    sub_q = subset(all_q, args.llm_queries, args.seed)
    rows = [{"collection": name, "teacher": f"first stage {k}", "depth": "-",
             "nDCG@10 subset": ndcg(data.qrels, run, sub_q),
             "nDCG@10 all": ndcg(data.qrels, run, all_q)} for k, run in first.items()]
    for depth in args.depths:
        cands = {q: [d for d, _ in ranked(first["MiniLM"][q], depth)] for q in all_q}
        raw: dict[str, dict[str, list[float]]] = {}
        for tname, members in specs.items():
            cheap = all(cfg.kind in ("dense", "bm25") for _, cfg in members)
            if not cheap and depth not in args.llm_depths:
                continue
            qids = all_q if cheap else sub_q
            for _, cfg in members:
                tid = cfg.teacher_id()
                have = raw.setdefault(tid, {})
                todo = [q for q in qids if q not in have]
                if todo:
                    lists = [(data.queries[q].text, cands[q]) for q in todo]
                    t0 = time.time()
                    scores, stats = member_scores(scorers, cfg, texts, lists, args.cache,
                                                   name)
                    timings.add(tid, stats)
                    print(f"  {name} N={depth} {tid}: {len(todo)} queries "
                          f"in {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
                    have.update(zip(todo, scores))
            weights = [args.weights.get(role, 1.0) for role, _ in members]
            scores = {q: list(weighted_zsum([raw[c.teacher_id()][q] for _, c in members],
                                            weights)) for q in qids}
            run = rerank({q: cands[q] for q in qids}, scores)
            speed = chained([timings.pairs_per_s(c.teacher_id()) for _, c in members])
            wall = chained([timings.pairs_per_s(c.teacher_id(), "seconds") for _, c in members])
            rows.append({"collection": name, "teacher": tname, "depth": depth,
                         "nDCG@10 subset": ndcg(data.qrels, run, sub_q),
                         "nDCG@10 all": ndcg(data.qrels, run, all_q) if cheap else "",
                         "pairs/CPU-s": speed or "", "pairs/s wall": wall or "",
                         "CPU h demo": args.demo_pairs / speed / 3600 if speed else ""})
        raw_path = args.cache / f"raw-{name}-{depth}.json"
        raw_path.write_text(json.dumps({"cands": cands, "raw": raw, "sub": sub_q}))
    return rows


def kv_speedup(args) -> dict:
    """Seconds to score P passages x Q queries with and without passage-prefix KV reuse."""
    data = load_beir(SHARED / "cranfield", "test")
    passages = [data.corpus[d].full_text() for d in sorted(data.corpus, key=int)[:2]]
    queries = [data.queries[q].text for q in sorted(data.queries, key=int)[:6]]
    pairs = [(q, p) for p in passages for q in queries]
    out = {"pairs": len(pairs), "passages": len(passages), "queries_per_passage": len(queries)}
    for model in args.ql_models:
        for reuse in (True, False):
            teacher = build_teacher(teacher_config(kind="query-likelihood", model=model,
                                                  n_threads=args.threads, kv_reuse=reuse))
            start = time.perf_counter()
            scores = teacher.score_pairs(pairs)
            out[f"{model} reuse={reuse}"] = {"seconds": time.perf_counter() - start,
                                             "scores": scores}
    return out


def pivot(rows: list[dict], column: str) -> list[dict]:
    """One row per (teacher, depth); one column per collection plus their mean."""
    names = list(dict.fromkeys(r["collection"] for r in rows))
    out: dict[tuple, dict] = {}
    for r in rows:
        row = out.setdefault((r["teacher"], r["depth"]), {"teacher": r["teacher"],
                                                          "N": r["depth"]})
        row[r["collection"]] = r[column]
        for k in ("pairs/CPU-s", "CPU h demo"):
            if r.get(k) not in (None, "") and k not in row:
                row[k] = r[k]
    for row in out.values():
        vals = [row.get(n) for n in names]
        row["mean"] = sum(vals) / len(vals) if all(isinstance(v, float) for v in vals) else ""
    return list(out.values())


def write_markdown(path: Path, rows: list[dict], argv: list[str]) -> None:
    """Replace the generated block of ``path`` (between markers), keeping the prose around it."""
    names = list(dict.fromkeys(r["collection"] for r in rows))
    cols = ["teacher", "N", *names, "mean", "pairs/CPU-s", "CPU h demo"]
    block = ["<!-- generated by benchmarks/teachers.py -->",
             f"Command: `{' '.join(argv)}`", "",
             "nDCG@10 on the seeded subset of test queries (all teachers):", "",
             markdown_table(pivot(rows, "nDCG@10 subset"), cols), "",
             "nDCG@10 on all test queries (teachers without an LLM):", "",
             markdown_table([r for r in pivot(rows, "nDCG@10 all")
                             if all(r.get(n) != "" for n in names)], cols),
             "<!-- end generated -->"]
    old = path.read_text() if path.exists() else "# Teacher benchmark\n\n<!-- generated"
    head = old.split("<!-- generated")[0]
    tail = old.split("<!-- end generated -->")[1] if "<!-- end generated -->" in old else "\n"
    path.write_text(head + "\n".join(block) + tail)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--collections", nargs="+", default=["cranfield", "cisi", "cacm"])
    p.add_argument("--depths", nargs="+", type=int, default=[20, 30])
    p.add_argument("--llm-depths", nargs="+", type=int, default=[20],
                   help="depths at which LLM teachers rerank (each is slow on CPU)")
    p.add_argument("--ql-models", nargs="*", default=["smollm2"])
    p.add_argument("--judge-models", nargs="*", default=[])
    p.add_argument("--llm-queries", type=int, default=40,
                   help="seeded subset of test queries for LLM teachers (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="llama-cpp threads")
    p.add_argument("--demo-pairs", type=int, default=30000)
    p.add_argument("--weight", action="append", default=[], metavar="ROLE=W",
                   help="ensemble weight of a member role (dense, bm25, ql), default 1")
    p.add_argument("--headroom", action="store_true",
                   help="teacher headroom over MiniLM (reranking its top-k) and cost")
    p.add_argument("--headroom-depth", type=int, default=100)
    p.add_argument("--datasets", type=Path, default=SHARED,
                   help="folder of the BEIR collections (default: ../shared/datasets)")
    p.add_argument("--headroom-queries", type=int, default=0,
                   help="seeded subset of test queries for --headroom (0: all)")
    p.add_argument("--kv-speedup", action="store_true",
                   help="only measure query-likelihood with vs without KV reuse")
    p.add_argument("--cache", type=Path, default=Path("runs/bench-teachers"))
    p.add_argument("--output", type=Path, default=Path("runs/bench-teachers/rows.json"))
    p.add_argument("--markdown", type=Path, default=Path("benchmarks/results/teachers.md"))
    args = p.parse_args(argv)
    args.weights = {k: float(v) for k, v in (w.split("=") for w in args.weight)}
    return args


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING)
    args = parse_args(argv)
    if args.kv_speedup:
        result = kv_speedup(args)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=1))
        for k, v in result.items():
            print(k, v["seconds"] if isinstance(v, dict) else v)
        return 0
    if args.headroom:
        return headroom_main(args)
    specs = teacher_specs(args)
    timings = Timings(args.cache / "timings.json")
    rows: list[dict] = []
    scorers: dict = {}
    for name in args.collections:
        rows += collection_rows(name, args, specs, timings, scorers)
        cols = ["collection", "teacher", "depth", "nDCG@10 subset", "nDCG@10 all",
                "pairs/CPU-s", "pairs/s wall", "CPU h demo"]
        print(text_table([r for r in rows if r["collection"] == name], cols), flush=True)
        # Written after every collection: an interrupted run still leaves its tables.
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({"argv": sys.argv, "rows": rows}, indent=1))
        threads = os.environ.get("OMP_NUM_THREADS", "")
        write_markdown(args.markdown, rows, [f"OMP_NUM_THREADS={threads}", "python", *sys.argv])
    print(f"wrote {args.markdown}")
    return 0


def headroom_main(args) -> int:
    timings = Timings(args.cache / "timings.json")
    rows: list[dict] = []
    scorers: dict = {}
    argv = [f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')}", "python", *sys.argv]
    for name in args.collections:
        t0 = time.time()
        rows += headroom_rows(name, args, timings, scorers)
        print(f"{name}: {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
        print(text_table([r for r in rows if r["collection"] == name],
                         ["collection", "teacher", "queries", "nDCG@10", "headroom", "p",
                          "vs default", "p vs default", "pairs/CPU-s"]), flush=True)
        out = args.output.with_name("headroom.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"argv": sys.argv, "rows": rows}, indent=1))
        write_headroom_markdown(args.markdown, rows, argv)
    print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
