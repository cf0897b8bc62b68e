"""The report stage: ``report.md`` and ``report.html`` of a whole run directory (the work
is :func:`corpusfit.report.render.write_report`), and the final table ``corpusfit run``
prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.errors import DataError
from corpusfit.report.render import write_report
from corpusfit.report.sections import metric_rows
from corpusfit.stages.base import Stage, StageContext, StageResult
from corpusfit.stages.layout import FOLDERS, RunLayout, Step, artifact_path
from corpusfit.workspace import MANIFEST, read_json


@dataclass
class ReportStage(Stage):
    """A whole run directory -> ``report.md`` and ``report.html``. It has no config of its
    own: it is redone whenever a stage before it ran."""

    run_dir: Path

    name: ClassVar[str] = "report"
    artifacts: ClassVar[tuple[str, ...]] = ("report_md", "report_html")

    def legacy_configs(self) -> list[dict]:
        return [{"stage": "report"}]

    def run(self, ctx: StageContext) -> StageResult:
        counts = write_report(self.run_dir, ctx.out,
                              title=f"corpusfit report: {self.run_dir.name}")
        return StageResult(counts)


def steps(layout: RunLayout, before: list[Step]) -> list[Step]:
    return [Step(ReportStage(layout.root), layout.dir("report"), [s.out for s in before])]


def final_rows(run_dir: str | Path) -> list[dict]:
    """The final table (one row per evaluated retriever) from the evaluate stage's metrics."""
    run_dir = Path(run_dir)
    path = artifact_path(run_dir, "metrics")
    if not path.exists():
        return []
    out = []
    for row in metric_rows(read_json(path)):
        name = row.pop("retriever")
        out.append({"model": name, "what": _describe(run_dir, name), **row})
    return out


def _objective(run_dir: Path, folder: str) -> str:
    try:
        manifest = read_json(run_dir / folder / MANIFEST)
        objective = manifest["config"]["objective"]
    except (OSError, ValueError, KeyError, TypeError, DataError):
        return "trained"
    text = " + ".join(f"{w:g}×{loss}" if w != 1 else loss for loss, w in objective.items() if w)
    kept = ((manifest.get("counts") or {}).get("result") or {}).get("kept")
    return f"{text}; kept the base model (better dev loss)" if kept == "base" else text


def _describe(run_dir: Path, name: str) -> str:
    """A few words on what a retriever row is, for the printed table."""
    if name == "base":
        return "student before training"
    if name == "bm25":
        return "BM25"
    if name == "hybrid":
        return "RRF(BM25, base)"
    if name.endswith("+bm25"):
        return f"RRF(BM25, {name[:-5]})"
    folder = FOLDERS["train"] + ("" if name == "specialized" else f"-{name}")
    return _objective(run_dir, folder)
