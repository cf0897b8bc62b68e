"""What the report says, in reading order: the headline first, then per-query changes,
metrics, per-type results, training, examples, the recipe, times; the counts table last.

Plain data only (:class:`Section`); :mod:`corpusfit.report.render` turns it into
Markdown and HTML, so both pages say the same.
"""

from __future__ import annotations

from corpusfit.report import headline, plots
from corpusfit.report.details import REUSE_COLUMNS
from corpusfit.report.headroom import headroom_sections
from corpusfit.report.labelfree import labelfree_headlines, labelfree_section
from corpusfit.report.section import Section


def metric_rows(metrics: dict) -> list[dict]:
    """One row per retriever: nDCG@10, R@100, delta and p vs the base model."""
    rows = []
    for name, entry in (metrics.get("retrievers") or {}).items():
        vs = entry.get("vs_baseline")
        rows.append({"retriever": name, "nDCG@10": entry["metrics"].get("nDCG@10", 0.0),
                     "R@100": entry["metrics"].get("R@100", 0.0),
                     "Δ nDCG@10": f"{vs['delta']:+.4f}" if vs else "-",
                     "p": f"{vs['p_permutation']:.3g}" if vs else "-"})
    return rows


METRIC_COLUMNS = ["retriever", "nDCG@10", "R@100", "Δ nDCG@10", "p"]
STEP_ORDER = ["generated", "rejected", "mined", "labeled", "labeled_train", "labeled_dev"]
RESULT_COLUMNS = ["unit", "mode", "init", "steps", "kept", "base_dev_loss",
                  "previous_dev_loss", "best_dev_loss", "best_epoch", "stopped"]
EXAMPLE_COLUMNS = ["type", "query", "top passage", "top is source", "passage"]


def headlines(data: dict) -> list[tuple[str, str]]:
    """(bold line, line under it) per trained model; the guard's notes when not evaluated."""
    units = list(data.get("trains") or {})
    out = []
    for unit, name in zip(units, headline.trained_names(units), strict=True):
        h = headline.compare(data["metrics"], data.get("per_query") or {}, name,
                             data["trains"][unit]["result"])
        if h is not None:
            out.append(headline.sentences(h))
    if not out:  # no test data: the label-free verdict is the headline
        out = labelfree_headlines(data.get("labelfree") or {})
        out += [(note, "") for note in data.get("kept_base", [])]
    return out


def _type_rows(data: dict) -> tuple[list[dict], list[str]]:
    counts, agreement = data["type_counts"], data["agreement"]
    steps = [s for s in STEP_ORDER if any(s in v for v in counts.values())]
    base = agreement.get("base") or {}
    models = [m for m in agreement if m != "base"]
    rows = []
    for qtype in sorted(set(counts) | {t for t in base if t != "all"}):
        row = {"type": qtype, **counts.get(qtype, {})}
        if base:
            ref = base.get(qtype, {}).get("ndcg10_vs_teacher")
            row["base vs teacher"] = f"{ref:.4f}" if ref is not None else ""
            for m in models:
                v = agreement[m].get(qtype, {}).get("ndcg10_vs_teacher")
                row[f"{m} vs teacher"] = (f"{v:.4f} ({v - ref:+.4f})"
                                          if v is not None and ref is not None else "")
        rows.append(row)
    columns = ["type", *steps]
    if base:
        columns += ["base vs teacher", *[f"{m} vs teacher" for m in models]]
    return rows, columns


def _result_rows(trains: dict) -> list[dict]:
    rows = []
    for unit, info in trains.items():
        r = info["result"]
        rows.append({"unit": unit, **{k: r.get(k, "") for k in RESULT_COLUMNS[1:]}})
    return rows


def sections(data: dict) -> list[Section]:
    out = []
    names = headline.trained_names(list(data.get("trains") or {}))
    base = data["metrics"].get("baseline") or "base"
    if data.get("per_query") and names and names[0] in data["per_query"]:
        out.append(Section("Per-query change", [
            f"Change in nDCG@10 of each test query, {names[0]} minus {base}, sorted: a few "
            "large wins or losses read differently from many small ones."],
            figures=[("per_query", "Green: better than the base model; red: worse.")]))
    if data["metrics"]:
        out.append(Section("Retrieval quality on the test queries", [
            "p: paired permutation test of nDCG@10 against the base model."],
            metric_rows(data["metrics"]), METRIC_COLUMNS,
            [("metrics", "Change in nDCG@10 against the base model; whiskers: 95% "
                         "bootstrap interval of the mean per-query change.")]))
    out += headroom_sections(data["metrics"], data.get("labelfree"))
    if (labelfree := labelfree_section(data.get("labelfree") or {})) is not None:
        out.append(labelfree)
    if data["type_counts"] or data["agreement"]:
        rows, columns = _type_rows(data)
        out.append(Section("Per query type", [
            "The test queries carry no type; per type, the synthetic dev lists show how "
            "closely each student ranks like the teacher (nDCG@10 of the student's order "
            "against the teacher's scores; in brackets the change against the base model)."],
            rows, columns, [("types_agreement", "Change in agreement with the teacher on "
                             "the dev lists, per query type (n: dev lists)."),
                            ("types", "Queries per type after each step.")]))
    if data["losses"] or data.get("trains"):
        out.append(Section("Training", [
            "kept: the never-worse guard's choice between the base model (scored on the dev "
            "lists before training), the previous model (init: previous, training started "
            "from it) and the best trained checkpoint."],
            _result_rows(data.get("trains") or {}), RESULT_COLUMNS,
            [("losses", "Training loss components per step; dashed: dev loss after each "
                        "epoch (step 0: the base model).")]))
    if data.get("reuse"):
        out.append(Section("What was reused and what was new", [
            "Per stage, what its last run took from earlier work (earlier records, the "
            "completion store, the score cache, the previous model's lists) and what it did "
            "anew. A stage that was skipped shows its last run."], data["reuse"],
            REUSE_COLUMNS))
    if data.get("examples"):
        out.append(Section("Generated queries and the teacher's top passage", [
            "A few labeled queries of each type and the passage the teacher scored "
            "highest (top is source, where shown: it is the passage the query was "
            "generated from)."], data["examples"],
            [c for c in EXAMPLE_COLUMNS if c != "top is source"
             or any(e[c] != "yes" for e in data["examples"])]))
    if data.get("recipe"):
        out.append(Section("Recipe", [], data["recipe"], ["what", "value"]))
    if data["seconds"]:
        rows = [{"stage": k, "minutes": f"{v / 60:.2f}"} for k, v in data["seconds"].items()]
        out.append(Section("Stage times", [], rows, ["stage", "minutes"],
                           [("time", "Wall time of each stage's last completed run.")]))
    if data["agreement"]:
        rows = [{"model": m, "type": t, **vals}
                for m, per_type in data["agreement"].items() for t, vals in per_type.items()]
        out.append(Section("Agreement with the teacher on dev lists (all measures)", [], rows,
                           ["model", "type", "n", "kendall_tau", "ndcg10_vs_teacher", "top1"]))
    if data["filters"]:
        out.append(Section("Counts through every filter", [], data["filters"],
                           ["stage", "count", "value"]))
    return out


def render_figures(data: dict) -> dict[str, bytes]:
    """File stem -> PNG bytes for every figure that has data."""
    names = headline.trained_names(list(data.get("trains") or {}))
    base = data["metrics"].get("baseline") or "base"
    pq = data.get("per_query") or {}
    made = {"per_query": plots.per_query_deltas(pq, names[0], base) if names else None,
            "metrics": plots.metrics_bars(data["metrics"], pq),
            "types_agreement": plots.type_deltas(data["agreement"]),
            "types": plots.type_bars(data["type_counts"]),
            "losses": plots.loss_lines(data["losses"]),
            "time": plots.time_bars(data["seconds"])}
    return {k: v for k, v in made.items() if v is not None}
