"""Report figures as PNG bytes (matplotlib, Agg backend: no display needed).

Each function takes the plain data of :mod:`corpusfit.report.collect` and returns PNG
bytes, or None when there is nothing to draw. Layout is matplotlib's constrained
layout; names go on the y axis of horizontal bars so that long labels never overlap,
and comparisons are drawn as changes against the base model where that reads better.
"""

from __future__ import annotations

import io

import numpy as np

from corpusfit.evaluate.significance import delta_ci

WIN, LOSS, NEUTRAL = "#2a9d55", "#d1495b", "#4c78a8"
TIE = 1e-9


def _figure(width: float = 7.5, height: float = 3.6, **kwargs):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100, layout="constrained", **kwargs)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def per_query_deltas(per_query: dict[str, dict[str, float]], name: str, base: str,
                     metric: str = "nDCG@10") -> bytes | None:
    """Sorted bars of the per-query change ``name - base``: wins green, losses red."""
    a, b = per_query.get(base) or {}, per_query.get(name) or {}
    shared = sorted(set(a) & set(b))
    if not shared:
        return None
    deltas = np.sort(np.array([b[q] - a[q] for q in shared]))[::-1]
    wins, losses = int((deltas > TIE).sum()), int((deltas < -TIE).sum())
    fig, ax = _figure(7.5, 3.2)
    colors = np.where(deltas > TIE, WIN, np.where(deltas < -TIE, LOSS, "#bbbbbb"))
    ax.bar(np.arange(len(deltas)), deltas, width=1.0, color=colors)
    ax.axhline(0, color="#444", linewidth=0.8)
    ax.set_xticks([])
    ax.set_xlim(-0.5, len(deltas) - 0.5)
    ax.set_xlabel(f"{len(deltas)} test queries, sorted by change")
    ax.set_ylabel(f"Δ {metric}")
    ax.set_title(f"{name} vs {base}: better on {wins}, worse on {losses}, "
                 f"unchanged on {len(deltas) - wins - losses}", fontsize=10)
    return _png(fig)


def metrics_bars(metrics: dict, per_query: dict[str, dict[str, float]],
                 metric: str = "nDCG@10") -> bytes | None:
    """Horizontal bars: each retriever's change in ``metric`` against the baseline, with a
    95% bootstrap interval where per-query values exist; the value itself at the bar."""
    retrievers = metrics.get("retrievers") or {}
    base = metrics.get("baseline")
    others = [n for n in retrievers if n != base]
    if base not in retrievers or not others:
        return None
    base_value = retrievers[base]["metrics"].get(metric, 0.0)
    values = [retrievers[n]["metrics"].get(metric, 0.0) for n in others]
    deltas = np.array(values) - base_value
    errors = np.zeros((2, len(others)))
    for i, name in enumerate(others):
        if per_query.get(base) and per_query.get(name):
            low, high = delta_ci(per_query[base], per_query[name])
            errors[:, i] = [max(deltas[i] - low, 0.0), max(high - deltas[i], 0.0)]
    fig, ax = _figure(7.5, 0.45 * len(others) + 1.4)
    y = np.arange(len(others))[::-1]
    ax.barh(y, deltas, xerr=errors, color=[WIN if d > 0 else LOSS for d in deltas],
            height=0.6, error_kw={"ecolor": "#333", "capsize": 3, "linewidth": 1})
    ax.set_yticks(y, others)
    ax.axvline(0, color="#444", linewidth=0.8)
    for yi, d, v, err in zip(y, deltas, values, errors.T, strict=True):
        end = d + err[1] if d >= 0 else d - err[0]
        ax.annotate(f"{v:.4f} ({d:+.4f})", (end, yi), xytext=(4 if d >= 0 else -4, 0),
                    textcoords="offset points", va="center", ha="left" if d >= 0 else "right",
                    fontsize=8)
    span = max(float(np.abs(deltas).max() + errors.max()), 1e-3)
    ax.set_xlim(-1.6 * span, 1.6 * span)
    ax.set_xlabel(f"Δ {metric} vs {base} ({base_value:.4f}); bars: 95% bootstrap CI")
    ax.set_title(f"test queries ({metrics.get('n_queries', '?')})", fontsize=10)
    return _png(fig)


def type_deltas(agreement: dict, base: str = "base",
                metric: str = "ndcg10_vs_teacher") -> bytes | None:
    """Per query type, each trained model's change in agreement with the teacher on the dev
    lists (``metric`` of the model minus the base model's); types on the y axis."""
    models = [m for m in agreement if m != base]
    if base not in agreement or not models:
        return None
    types = sorted({t for v in agreement.values() for t in v}, key=lambda t: (t != "all", t))
    fig, ax = _figure(7.5, (0.3 + 0.2 * len(models)) * len(types) + 1.0)
    height = 0.8 / len(models)
    y = np.arange(len(types))[::-1]
    for i, model in enumerate(models):
        d = [agreement[model].get(t, {}).get(metric, np.nan)
             - agreement[base].get(t, {}).get(metric, np.nan) for t in types]
        ax.barh(y + (len(models) - 1) / 2 * height - i * height, d, height, label=model)
    labels = [f"{t} (n={agreement[base].get(t, {}).get('n', '?')})" for t in types]
    ax.set_yticks(y, labels)
    ax.axvline(0, color="#444", linewidth=0.8)
    ax.set_xlabel(f"Δ {metric} vs {base} on the dev lists")
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(1.01, 0), frameon=False)
    return _png(fig)


def type_bars(type_counts: dict[str, dict[str, int]]) -> bytes | None:
    """Per query type (y axis), queries after each step: generated, rejected, mined, labeled."""
    if not type_counts:
        return None
    steps = [s for s in ("generated", "rejected", "mined", "labeled_train", "labeled_dev")
             if any(s in v for v in type_counts.values())]
    types = list(type_counts)
    fig, ax = _figure(7.5, (0.3 + 0.12 * len(steps)) * len(types) + 1.0)
    height = 0.8 / max(len(steps), 1)
    y = np.arange(len(types))[::-1]
    for i, step in enumerate(steps):
        ax.barh(y + (len(steps) - 1) / 2 * height - i * height,
                [type_counts[t].get(step, 0) for t in types], height, label=step)
    ax.set_yticks(y, types)
    ax.set_xlabel("queries")
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(1.01, 0), frameon=False)
    return _png(fig)


def loss_lines(losses: dict[str, dict[str, list[tuple[float, float]]]]) -> bytes | None:
    """One panel per training unit: training loss components per step (lines) and the dev
    loss measured after each epoch (markers; step 0 is the base model)."""
    if not losses:
        return None
    units = list(losses)
    components = sorted({n.removeprefix("dev_") for u in units for n in losses[u]})
    color = {c: f"C{i % 10}" for i, c in enumerate(components)}  # dev_X drawn like X
    fig, axes = _figure(7.5, 2.9 * len(units), nrows=len(units), squeeze=False)
    for ax, unit in zip(axes[:, 0], units, strict=True):
        for name, points in sorted(losses[unit].items()):
            steps, values = zip(*points, strict=True)
            dev = name.startswith("dev_")
            ax.plot(steps, values, label=name, color=color[name.removeprefix("dev_")],
                    marker="o" if dev else None, linestyle="--" if dev else "-",
                    linewidth=1.8 if name.endswith("loss") else 1.0)
        ax.set_title(unit, fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return _png(fig)


def time_bars(seconds: dict[str, float]) -> bytes | None:
    """Horizontal bars: wall minutes of each stage's last run."""
    if not seconds:
        return None
    names = list(seconds)[::-1]
    fig, ax = _figure(7.5, 0.3 * len(names) + 1.0)
    minutes = [seconds[n] / 60 for n in names]
    bars = ax.barh(names, minutes, color=NEUTRAL)
    ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    ax.set_xlim(0, max(minutes) * 1.15 or 1)
    ax.set_xlabel("minutes (last completed run)")
    return _png(fig)
