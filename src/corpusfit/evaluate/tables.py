"""Plain-text and Markdown tables for the console and reports."""

from __future__ import annotations


def _cell(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """A GitHub Markdown table; floats with four decimals."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def text_table(rows: list[dict], columns: list[str]) -> str:
    """An aligned plain-text table for the terminal."""
    cells = [[_cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c)
              for i, c in enumerate(columns)]
    fmt = lambda vals: "  ".join(v.ljust(w) if i == 0 else v.rjust(w)  # noqa: E731
                                 for i, (v, w) in enumerate(zip(vals, widths)))
    out = [fmt(columns), fmt(["-" * w for w in widths])]
    out += [fmt(r) for r in cells]
    return "\n".join(out)
