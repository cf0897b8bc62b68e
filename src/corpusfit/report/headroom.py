"""The report's teacher-headroom sentence: is the run's teacher ahead of the student, and
what that means for the gain to expect.

Reads ``teacher_headroom`` of ``metrics.json`` (the test queries, see
:mod:`corpusfit.evaluate.headroom`) and of ``labelfree.json`` (the held-out synthetic
queries, see :func:`corpusfit.evaluate.labelfree.probe_headroom`); use
:func:`headroom_sentence` / :func:`probe_headroom_sentence` for the sentences and
:func:`headroom_sections` for the report's section as plain data
(:mod:`corpusfit.report.sections` wraps it).
"""

from __future__ import annotations

from corpusfit.report.section import Section

SIGNIFICANT = 0.05
REFERENCES = {"bm25+base": "RRF of BM25 and the base model", "bm25": "BM25"}


def _meaning(said: str, clearly_ahead: bool, delta: float, unit: str = "") -> str:
    """``said`` followed by what the headroom means for the gain to expect (``unit``
    follows the number, e.g. " source MRR@10")."""
    if delta > 0 and clearly_ahead:
        return (f"{said}: the teacher knows more than the student, and a gain of up to about "
                f"{delta:+.4f}{unit} is what training on its scores can hope for.")
    if delta > 0:
        return (f"{said}: the teacher is ahead but not significantly, so expect a small gain "
                f"at most (up to about {delta:+.4f}{unit}), possibly none.")
    return (f"{said}: the teacher is not ahead of the student, so training on its scores "
            "has nothing to teach and should not be expected to gain (it may lose); a "
            "stronger teacher, such as a cross-encoder (label.teacher.kind: cross-encoder), "
            "is what would help.")


def headroom_sentence(h: dict) -> str:
    """One plain sentence from a ``teacher_headroom`` record."""
    delta, p = h["delta"], h["p_permutation"]
    said = (f"On the {h['n_queries']} test queries the teacher ({h['kind']}) reranking the "
            f"base model's top {h['depth']} reaches nDCG@10 {h['teacher_reranked']:.4f} "
            f"against {h['student']:.4f} for the base model alone ({delta:+.4f}, p = {p:.3g})")
    return _meaning(said, p < SIGNIFICANT, delta)


def probe_headroom_sentence(h: dict) -> str:
    """One plain sentence from ``labelfree.json``'s ``teacher_headroom`` (the probe
    queries): read on source-passage MRR@10, clearly ahead when its bootstrap interval
    lies above 0 (the label-free verdict's rule)."""
    view = h["view"]
    d = h["metrics"][view]["all"]
    said = (f"On the {h['queries']} held-out synthetic queries the teacher ({h['kind']}) "
            f"reranking the base model's top {h['depth']} finds their source passages with "
            f"{view} {d['model']:.4f} against {d['base']:.4f} for the base model alone "
            f"({d['delta']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}], "
            f"p = {h['p_permutation'][view]:.3g})")
    return _meaning(said, h["ahead"] == "better", d["delta"], f" {view} of source passages")


def _probe_row(h: dict, view: str, label: str) -> dict:
    d = h["metrics"][view]["all"]
    return {"queries": "held-out synthetic", "n": d["n"], "measure": label,
            "teacher": h["teacher"], "reranked": h["depth"], "base model": d["base"],
            "teacher reranking": d["model"],
            "Δ": f"{d['delta']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]",
            "p": f"{h['p_permutation'][view]:.3g}"}


def headroom_sections(metrics: dict, labelfree: dict | None = None) -> list[Section]:
    """The report's "Teacher headroom" section: on the test queries (``metrics``'
    ``teacher_headroom``) and on the held-out synthetic queries (``labelfree``'s); []
    when neither was measured."""
    h = (metrics or {}).get("teacher_headroom")
    probe = (labelfree or {}).get("teacher_headroom")
    if not h and not probe:
        return []
    text, rows = [], []
    if h:
        text.append(headroom_sentence(h))
        rows.append({"queries": "test", "n": h["n_queries"], "measure": "nDCG@10",
                     "teacher": h["teacher"], "reranked": h["depth"], "base model": h["student"],
                     "teacher reranking": h["teacher_reranked"],
                     "Δ": f"{h['delta']:+.4f}", "p": f"{h['p_permutation']:.3g}",
                     "pairs scored": h["pairs_scored"], "pairs cached": h["pairs_cached"]})
    if probe:
        text.append(probe_headroom_sentence(probe))
        rows += [_probe_row(probe, probe["view"], "source MRR@10"),
                 _probe_row(probe, "nDCG@10", "reference nDCG@10")]
        rows[-2].update({"pairs scored": probe["pairs_scored"],
                         "pairs cached": probe["pairs_cached"]})
        made_of = REFERENCES.get(probe.get("reference", ""), "BM25 and the base model")
        text.append("On the held-out synthetic queries, source MRR@10 is the reading; the "
                    f"reference nDCG@10 (against the top of {made_of}) leans towards what "
                    "made that list. Intervals: bootstrap over queries (Δ in brackets); "
                    "p: paired permutation test.")
    columns = ["queries", "n", "measure", "teacher", "reranked", "base model",
               "teacher reranking", "Δ", "p", "pairs scored", "pairs cached"]
    return [Section("Teacher headroom", text, rows, columns)]
