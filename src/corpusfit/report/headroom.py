"""The report's teacher-headroom sentence: is the run's teacher ahead of the student, and
what that means for the gain to expect.

Reads ``teacher_headroom`` of ``metrics.json`` (see :mod:`corpusfit.evaluate.headroom`);
use :func:`headroom_sentence` for the sentence and :func:`headroom_sections` for the
report's section as plain data (:mod:`corpusfit.report.sections` wraps it).
"""

from __future__ import annotations

from corpusfit.report.section import Section

SIGNIFICANT = 0.05


def headroom_sentence(h: dict) -> str:
    """One plain sentence from a ``teacher_headroom`` record."""
    delta, p = h["delta"], h["p_permutation"]
    said = (f"On the {h['n_queries']} test queries the teacher ({h['kind']}) reranking the "
            f"base model's top {h['depth']} reaches nDCG@10 {h['teacher_reranked']:.4f} "
            f"against {h['student']:.4f} for the base model alone ({delta:+.4f}, p = {p:.3g})")
    if delta > 0 and p < SIGNIFICANT:
        return (f"{said}: the teacher knows more than the student, and a gain of up to about "
                f"{delta:+.4f} is what training on its scores can hope for.")
    if delta > 0:
        return (f"{said}: the teacher is ahead but not significantly, so expect a small gain "
                f"at most (up to about {delta:+.4f}), possibly none.")
    return (f"{said}: the teacher is not ahead of the student, so training on its scores "
            "has nothing to teach and should not be expected to gain (it may lose); a "
            "stronger teacher, such as a cross-encoder (label.teacher.kind: cross-encoder), "
            "is what would help.")


def headroom_sections(metrics: dict) -> list[Section]:
    """The report's "Teacher headroom" section, or [] when ``metrics`` has no headroom."""
    h = (metrics or {}).get("teacher_headroom")
    if not h:
        return []
    row = {"teacher": h["teacher"], "reranked": h["depth"], "queries": h["n_queries"],
           "base model": h["student"], "teacher reranking": h["teacher_reranked"],
           "Δ nDCG@10": f"{h['delta']:+.4f}", "p": f"{h['p_permutation']:.3g}",
           "pairs scored": h["pairs_scored"], "pairs cached": h["pairs_cached"]}
    return [Section("Teacher headroom", [headroom_sentence(h)], [row], list(row))]
