"""``report.md`` and a self-contained ``report.html`` for one run directory.

The HTML embeds its plots as base64 PNG and uses no script and no external
resource, so it opens anywhere (and in a headless browser without console errors).
What the pages say, and in which order, is :mod:`corpusfit.report.sections`.
"""

from __future__ import annotations

import base64
import html
import logging
import re
import time
from pathlib import Path

from corpusfit.evaluate.tables import markdown_table
from corpusfit.report.collect import collect
from corpusfit.report.sections import Section, headlines, metric_rows, render_figures, sections
from corpusfit.workspace import write_text

__all__ = ["metric_rows", "render_html", "render_markdown", "write_report"]

logger = logging.getLogger(__name__)
NUMBER = re.compile(r"^[-+]?\d[\d.]*( \([-+]?\d[\d.]*\))?$")  # 0.95, +0.01, 0.9 (+0.1)


def _md_cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(data: dict, figures: dict[str, bytes], title: str) -> str:
    lines = [f"# {title}", ""]
    for head, under in headlines(data):  # first: the answer to "did it help?"
        lines += [f"**{head}**", ""] + ([under, ""] if under else [])
    lines += [f"Run directory: `{data['run_dir']}`", ""]
    for s in sections(data):
        lines += [f"## {s.heading}", ""]
        lines += [line for t in s.text for line in (t, "")]
        for stem, caption in s.figures:
            if stem in figures:
                lines += [f"![{caption}](plots/{stem}.png)", "", f"*{caption}*", ""]
        if s.rows:
            rows = [{k: _md_cell(v) if isinstance(v, str) else v for k, v in r.items()}
                    for r in s.rows]
            lines += [markdown_table(rows, s.columns), ""]
    return "\n".join(lines)


def _html_table(rows: list[dict], columns: list[str]) -> str:
    def cell(v) -> str:
        text = f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))
        number = isinstance(v, int | float) or NUMBER.match(str(v))
        return f'<td class="num">{text}</td>' if number else f"<td>{text}</td>"

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(r.get(c, "")) for c in columns) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_section(s: Section, figures: dict[str, bytes]) -> list[str]:
    slug = s.heading.lower().split(" (")[0].replace(" ", "-").replace("'", "")
    parts = [f'<section id="{html.escape(slug)}"><h2>{html.escape(s.heading)}</h2>']
    parts += [f"<p>{html.escape(t)}</p>" for t in s.text]
    for stem, caption in s.figures:
        if stem in figures:
            b64 = base64.b64encode(figures[stem]).decode("ascii")
            parts.append(f'<figure id="fig-{stem}"><img alt="{html.escape(caption)}" '
                         f'src="data:image/png;base64,{b64}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    if s.rows:
        wide = " wide" if any(len(str(v)) > 60 for r in s.rows for v in r.values()) else ""
        parts.append(f'<div class="table{wide}">{_html_table(s.rows, s.columns)}</div>')
    return [*parts, "</section>"]


CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.4}table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
td.num{text-align:right;white-space:nowrap}th{background:#f3f3f3}
.wide td:last-child{min-width:22em}
img{max-width:100%}figure{margin:1em 0}figcaption{color:#555;font-size:.9em}
code{background:#f5f5f5;padding:0 .2em}h2{margin-top:2em;border-bottom:1px solid #ddd}
.headline{background:#f4f8fb;border-left:4px solid #4c78a8;padding:.6em 1em;margin:1em 0}
.headline p{margin:.3em 0}.headline .big{font-size:1.15em;font-weight:600}"""


def render_html(data: dict, figures: dict[str, bytes], title: str) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(title)}</title>",
             # No network: forbid any external fetch (the page is self-contained anyway).
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
             'img-src data:; style-src \'unsafe-inline\'">',
             f"<style>{CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    lines = headlines(data)
    if lines:
        parts.append('<div class="headline">' + "".join(
            f'<p class="big">{html.escape(head)}</p>'
            + (f"<p>{html.escape(under)}</p>" if under else "") for head, under in lines)
            + "</div>")
    parts.append(f"<p>Run directory: <code>{html.escape(data['run_dir'])}</code></p>")
    for s in sections(data):
        parts += _html_section(s, figures)
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | Path, out_dir: str | Path, title: str = "corpusfit report"
                 ) -> dict:
    """Write report.md (+ plots/*.png) and report.html into ``out_dir``; returns counts."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    data = collect(run_dir)
    figures = render_figures(data)
    for old in (out_dir / "plots").glob("*.png"):  # figures of an earlier report
        if old.stem not in figures:
            old.unlink()
    for stem, png in figures.items():
        (out_dir / "plots").mkdir(parents=True, exist_ok=True)
        with open(out_dir / "plots" / f"{stem}.png", "wb") as f:
            f.write(png)
    write_text(out_dir / "report.md", render_markdown(data, figures, title))
    write_text(out_dir / "report.html", render_html(data, figures, title))
    logger.info("report: %s (%d figures, %.1f s)", out_dir / "report.html", len(figures),
                time.perf_counter() - t0)
    return {"figures": len(figures), "tables": sum(bool(s.rows) for s in sections(data))}
