"""Report figures as PNG bytes (matplotlib, Agg backend: no display needed).

Each function takes the plain data of :mod:`corpusfit.report.collect`
and returns PNG bytes, or None when there is nothing to draw.
"""

from __future__ import annotations

import io

import numpy as np

METRICS = ("nDCG@10", "R@100")


def _figure(width: float = 7.0, height: float = 3.6):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def metrics_bars(metrics: dict) -> bytes | None:
    """Grouped bars: nDCG@10 and R@100 per retriever."""
    retrievers = metrics.get("retrievers") or {}
    if not retrievers:
        return None
    names = list(retrievers)
    fig, ax = _figure(max(6.0, 1.3 * len(names)), 3.6)
    x = np.arange(len(names))
    width = 0.38
    for i, metric in enumerate(METRICS):
        values = [retrievers[n]["metrics"].get(metric, 0.0) for n in names]
        bars = ax.bar(x + (i - 0.5) * width, values, width, label=metric)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(x, names, rotation=15)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"test queries ({metrics.get('n_queries', '?')})")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def type_bars(type_counts: dict[str, dict[str, int]]) -> bytes | None:
    """Per query type, queries left after each step (generated, mined, labeled)."""
    if not type_counts:
        return None
    steps = [s for s in ("generated", "rejected", "mined", "labeled_train", "labeled_dev")
             if any(s in v for v in type_counts.values())]
    types = list(type_counts)
    fig, ax = _figure(max(6.0, 1.2 * len(types)), 3.6)
    x = np.arange(len(types))
    width = 0.8 / max(len(steps), 1)
    for i, step in enumerate(steps):
        ax.bar(x + (i - (len(steps) - 1) / 2) * width,
               [type_counts[t].get(step, 0) for t in types], width, label=step)
    ax.set_xticks(x, types)
    ax.set_ylabel("queries")
    ax.set_title("queries per type through the pipeline")
    ax.legend(fontsize=8)
    return _png(fig)


def loss_lines(losses: dict[str, dict[str, list[tuple[float, float]]]]) -> bytes | None:
    """One panel per training unit; one line per loss component against the step."""
    if not losses:
        return None
    import matplotlib.pyplot as plt

    units = list(losses)
    fig, axes = plt.subplots(1, len(units), figsize=(5.5 * len(units), 3.4), dpi=100,
                             squeeze=False)
    for ax, unit in zip(axes[0], units, strict=True):
        for name, points in sorted(losses[unit].items()):
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, label=name, marker="." if len(points) < 30 else None)
        ax.set_title(unit)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    return _png(fig)


def agreement_bars(agreement: dict, metric: str = "kendall_tau") -> bytes | None:
    """Mean teacher–student agreement on dev lists per query type, one bar group per model."""
    if not agreement:
        return None
    models = list(agreement)
    types = sorted({t for v in agreement.values() for t in v}, key=lambda t: (t != "all", t))
    fig, ax = _figure(max(6.0, 1.1 * len(types)), 3.4)
    x = np.arange(len(types))
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        values = [agreement[model].get(t, {}).get(metric, np.nan) for t in types]
        ax.bar(x + (i - (len(models) - 1) / 2) * width, values, width, label=model)
    ax.set_xticks(x, types)
    ax.set_ylabel(metric)
    ax.set_title(f"agreement with the teacher on dev lists ({metric})")
    ax.legend(fontsize=8)
    return _png(fig)


def time_bars(seconds: dict[str, float]) -> bytes | None:
    """Horizontal bars: wall minutes of each stage's last run."""
    if not seconds:
        return None
    names = list(seconds)[::-1]
    fig, ax = _figure(6.5, 0.35 * len(names) + 1.2)
    minutes = [seconds[n] / 60 for n in names]
    bars = ax.barh(names, minutes)
    ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xlabel("minutes")
    ax.set_title("time per stage (last run)")
    return _png(fig)
