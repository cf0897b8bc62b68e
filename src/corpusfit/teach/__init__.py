"""Teachers that score (query, passage) pairs, and the score cache."""

from corpusfit.teach.config import LabelConfig, TeacherConfig, offline_teacher

__all__ = ["LabelConfig", "TeacherConfig", "offline_teacher"]
