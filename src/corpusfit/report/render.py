"""``report.md`` and a self-contained ``report.html`` for one run directory.

The HTML embeds its plots as base64 PNG and uses no script and no external
resource, so it opens anywhere (and in a headless browser without console errors).
"""

from __future__ import annotations

import base64
import html
import logging
import time
from pathlib import Path

from corpusfit.evaluate.tables import markdown_table
from corpusfit.report import plots
from corpusfit.report.collect import collect
from corpusfit.workspace import write_text

logger = logging.getLogger(__name__)

FIGURES = [  # file stem, heading, what it shows
    ("metrics", "Retrieval quality on the test queries",
     "nDCG@10 and R@100 of the base student, the specialized student(s), BM25 and hybrids."),
    ("types", "Query types through the pipeline",
     "Queries per type generated, rejected, kept after mining and labeled (train/dev)."),
    ("agreement", "Teacher–student agreement on dev lists",
     "Mean Kendall tau between student cosine and teacher score, per query type."),
    ("losses", "Training loss components per step", "From each train_log.jsonl."),
    ("time", "Time per stage", "Wall time of each stage's last completed run."),
]


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


def _sections(data: dict) -> list[tuple[str, list[dict], list[str]]]:
    """(heading, rows, columns) of every table in the report."""
    out = []
    if data["metrics"]:
        out.append(("Metrics", metric_rows(data["metrics"]), METRIC_COLUMNS))
    if data["type_counts"]:
        steps = [s for s in STEP_ORDER if any(s in v for v in data["type_counts"].values())]
        rows = [{"type": t, **v} for t, v in data["type_counts"].items()]
        out.append(("Queries per type", rows, ["type", *steps]))
    if data["agreement"]:
        rows = [{"model": m, "type": t, **vals}
                for m, per_type in data["agreement"].items() for t, vals in per_type.items()]
        out.append(("Agreement with the teacher on dev lists", rows,
                    ["model", "type", "n", "kendall_tau", "ndcg10_vs_teacher", "top1"]))
    if data["filters"]:
        out.append(("Counts through every filter", data["filters"], ["stage", "count", "value"]))
    if data["seconds"]:
        rows = [{"stage": k, "minutes": f"{v / 60:.1f}"} for k, v in data["seconds"].items()]
        out.append(("Time per stage", rows, ["stage", "minutes"]))
    return out


def render_figures(data: dict) -> dict[str, bytes]:
    """File stem -> PNG bytes for every figure that has data."""
    made = {"metrics": plots.metrics_bars(data["metrics"]),
            "types": plots.type_bars(data["type_counts"]),
            "agreement": plots.agreement_bars(data["agreement"]),
            "losses": plots.loss_lines(data["losses"]),
            "time": plots.time_bars(data["seconds"])}
    return {k: v for k, v in made.items() if v is not None}


def render_markdown(data: dict, figures: dict[str, bytes], title: str) -> str:
    lines = [f"# {title}", ""]
    lines += [f"**{note}**\n" for note in data.get("kept_base", [])]  # first: never hidden
    lines += [f"Run directory: `{data['run_dir']}`", ""]
    for heading, rows, columns in _sections(data):
        lines += [f"## {heading}", "", markdown_table(rows, columns), ""]
    for stem, heading, caption in FIGURES:
        if stem in figures:
            lines += [f"### {heading}", "", caption, "", f"![{heading}](plots/{stem}.png)", ""]
    return "\n".join(lines)


def _html_table(rows: list[dict], columns: list[str]) -> str:
    def cell(v) -> str:
        return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in columns)
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;
padding:.25em .6em;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}figure{margin:1em 0 2em}
figcaption{color:#555;font-size:.9em}code{background:#f5f5f5;padding:0 .2em}"""


def render_html(data: dict, figures: dict[str, bytes], title: str) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(title)}</title>",
             # No network: forbid any external fetch (the page is self-contained anyway).
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
             'img-src data:; style-src \'unsafe-inline\'">',
             f"<style>{CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
             *(f"<p><strong>{html.escape(n)}</strong></p>" for n in data.get("kept_base", [])),
             f"<p>Run directory: <code>{html.escape(data['run_dir'])}</code></p>"]
    for heading, rows, columns in _sections(data):
        parts += [f"<h2>{html.escape(heading)}</h2>", _html_table(rows, columns)]
    for stem, heading, caption in FIGURES:
        if stem in figures:
            b64 = base64.b64encode(figures[stem]).decode("ascii")
            parts.append(f'<figure id="fig-{stem}"><h3>{html.escape(heading)}</h3>'
                         f'<img alt="{html.escape(heading)}" src="data:image/png;base64,{b64}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | Path, out_dir: str | Path, title: str = "corpusfit report"
                 ) -> dict:
    """Write report.md (+ plots/*.png) and report.html into ``out_dir``; returns counts."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    data = collect(run_dir)
    figures = render_figures(data)
    for stem, png in figures.items():
        (out_dir / "plots").mkdir(parents=True, exist_ok=True)
        with open(out_dir / "plots" / f"{stem}.png", "wb") as f:
            f.write(png)
    write_text(out_dir / "report.md", render_markdown(data, figures, title))
    write_text(out_dir / "report.html", render_html(data, figures, title))
    logger.info("report: %s (%d figures, %.1f s)", out_dir / "report.html", len(figures),
                time.perf_counter() - t0)
    return {"figures": len(figures), "tables": len(_sections(data))}
