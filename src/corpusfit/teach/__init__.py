"""Teachers that score (query, passage) pairs, the score cache and the label stage."""

from corpusfit.teach.config import LabelConfig, TeacherConfig, offline_teacher
from corpusfit.teach.label import LabelResult, run_label

__all__ = ["LabelConfig", "LabelResult", "TeacherConfig", "offline_teacher", "run_label"]
