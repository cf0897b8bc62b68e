"""Metrics for a set of runs, with significance against a baseline; printing and saving."""

from __future__ import annotations

from pathlib import Path

from corpusfit.data.artifacts import artifact_file
from corpusfit.data.schema import Qrels
from corpusfit.evaluate.metrics import MEASURES, per_query
from corpusfit.evaluate.significance import paired_test
from corpusfit.evaluate.tables import text_table
from corpusfit.retrieve.specs import spec_name
from corpusfit.retrieve.trec import TrecRun, write_trec_run
from corpusfit.workspace import write_json

PRIMARY = "nDCG@10"


def evaluate_runs(qrels: Qrels, runs: dict[str, TrecRun], baseline: str | None = None) -> dict:
    """Per-retriever mean metrics plus a paired test of nDCG@10 against ``baseline``;
    ``per_query`` holds each retriever's nDCG@10 per query (for the report's win/loss view
    and confidence interval; :func:`save_results` writes it to its own file)."""
    pq = {spec: per_query(qrels, run) for spec, run in runs.items()}
    out: dict = {"n_queries": len(qrels), "baseline": baseline, "retrievers": {},
                 "per_query": {spec: values[PRIMARY] for spec, values in pq.items()}}
    for spec, values in pq.items():
        entry = {"name": spec_name(spec), "spec": spec,
                 "metrics": {m: sum(v.values()) / max(len(v), 1) for m, v in values.items()}}
        if baseline in pq and spec != baseline:
            t = paired_test(pq[baseline][PRIMARY], values[PRIMARY])
            entry["vs_baseline"] = {"metric": PRIMARY, "delta": t.delta, "p_ttest": t.p_ttest,
                                    "p_permutation": t.p_permutation}
        out["retrievers"][spec] = entry
    return out


def result_rows(results: dict) -> list[dict]:
    rows = []
    for spec, entry in results["retrievers"].items():
        row = {"retriever": spec, **entry["metrics"]}
        vs = entry.get("vs_baseline")
        row["p (nDCG@10)"] = f"{vs['p_permutation']:.3g}" if vs else "-"
        rows.append(row)
    return rows


def print_results(results: dict) -> None:
    cols = ["retriever", *MEASURES, "p (nDCG@10)"]
    print(f"{results['n_queries']} judged queries; p = paired permutation test vs "
          f"{results['baseline']}")
    print(text_table(result_rows(results), cols))


def save_results(folder: Path, runs: dict[str, TrecRun], results: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for spec, run in runs.items():
        name = results["retrievers"][spec]["name"]
        path = folder / f"{name}.trec"
        results["retrievers"][spec]["run_file"] = path.name
        write_trec_run(path, run, tag=name)
    per_q = results.get("per_query") or {}
    write_json(folder / artifact_file("per_query"), {"metric": PRIMARY, "retrievers": {
        results["retrievers"][spec]["name"]: values for spec, values in per_q.items()}})
    write_json(folder / artifact_file("metrics"),
               {k: v for k, v in results.items() if k != "per_query"})
