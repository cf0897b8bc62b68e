"""Ensemble teacher: weighted sum of per-query z-normalized member scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from corpusfit.teach.base import Pair, Teacher, build_teacher
from corpusfit.teach.config import TeacherConfig
from corpusfit.teach.normalization import weighted_zsum


class EnsembleTeacher(Teacher):
    """``sum_i w_i * z(member_i scores over the query's list)``.

    Z-scores are taken over each query's list, so an ensemble score only means
    something relative to the other passages of the same list.
    """

    def __init__(self, config: TeacherConfig, corpus: Mapping[str, str] | None = None,
                 members: list[Teacher] | None = None):
        super().__init__(config)
        self.members = members or [build_teacher(m, corpus=corpus) for m in config.members]
        self.weights = config.member_weights()

    def combine(self, member_scores: list[list[float]]) -> list[float]:
        """One list's ensemble scores from its members' raw scores (one list per member)."""
        return [float(x) for x in weighted_zsum(member_scores, self.weights)]

    def score_lists(self, lists: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        per_member = [m.score_lists(lists) for m in self.members]
        return [self.combine([pm[i] for pm in per_member]) for i in range(len(lists))]

    def score_pairs(self, pairs: Sequence[Pair]) -> list[float]:
        raise TypeError("an ensemble scores whole lists (per-query z-scores); use score_lists")
