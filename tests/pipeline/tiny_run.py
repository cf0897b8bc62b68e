"""The YAML of a whole `corpusfit run` on the tiny fixtures: the templated generator
(pipeline_fake_backend.py), the tiny student, lists of 4 from depth 6. Tests change the
teacher, the types and add their own sections (``extra``, YAML appended at the end)."""

from __future__ import annotations


def tiny_run_yaml(corpus, student, *, teacher: str = "{kind: bm25}",
                  types: str = "[question, keywords, title]", extra: str = "") -> str:
    return f"""
corpus: {corpus}
generate:
  types: {types}
  backend: {{name: "pipeline_fake_backend:TemplateBackend", options: {{delay: 0.0}}}}
mine:
  retrievers: [{student}, bm25]
  depth: 6
  fused_depth: 6
  round_trip_depth: 6
label:
  teacher: {teacher}
  score_depth: 6
  list_size: 4
  require_source_first: false
  min_top_percentile: null
  dev_fraction: 0.34
train:
  student: {student}
  epochs: 1
  queries_per_step: 4
  dropout: false
{extra}"""
