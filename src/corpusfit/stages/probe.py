"""The probe step: held-out passages and their synthetic queries, for the label-free
evaluation (:mod:`corpusfit.evaluate.labelfree`); folder ``02-generate-probe``.

The probe passages are a seeded sample (``evaluate.labelfree.passages``) of the
passages ingest neither sampled for training nor held out, nor found empty or
duplicate: the training sample is exactly what it was without probes, so earlier runs
stay reproducible. They stay in the corpus that mining and evaluation search (a probe
passage can appear among another query's candidates, as any passage can); no query of
theirs is mined, labelled or trained on. Their queries come from the same generator,
prompts and cleaning as the training queries (:func:`generate_queries`, through the
same completion store), one per type; the manifest records their count and seconds.
When every passage is sampled there is nothing to hold out: the step writes no probe
and the label-free evaluation is skipped.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from corpusfit.data.ids import read_id_file
from corpusfit.data.readers import load_corpus
from corpusfit.evaluate.labelfree_config import LabelfreeConfig
from corpusfit.fields import results_dump
from corpusfit.generate.config import GenerateConfig
from corpusfit.stages.base import Stage, StageContext, StageResult
from corpusfit.stages.layout import RunLayout, Step
from corpusfit.workspace import write_text

logger = logging.getLogger(__name__)

PROBE_FILE = "probe.txt"


def choose_probe(corpus_ids: list[str], excluded: set[str], n: int, seed: int) -> list[str]:
    """``n`` ids of ``corpus_ids`` outside ``excluded``, a seeded shuffle of the sorted rest
    (a larger ``n`` with the same seed extends a smaller one)."""
    order = sorted(i for i in corpus_ids if i not in excluded)
    random.Random(f"probe:{seed}").shuffle(order)
    return order[:n]


def probe_ids(ingest_dir: Path, config: LabelfreeConfig) -> list[str]:
    """The probe passages of an ingest folder (see the module docstring)."""
    corpus = load_corpus(ingest_dir / "corpus.jsonl")
    excluded = set(read_id_file(ingest_dir / "sampled.txt", corpus))
    excluded |= set(read_id_file(ingest_dir / "heldout.txt", corpus))
    excluded |= set(read_id_file(ingest_dir / "duplicates.jsonl"))
    excluded |= {i for i, d in corpus.items() if not d.full_text().strip()}
    return choose_probe(list(corpus), excluded, config.passages, config.seed)


@dataclass
class ProbeStage(Stage):
    """Ingest folder -> ``probe.txt`` + the probe passages' ``queries.jsonl``."""

    config: GenerateConfig
    labelfree: LabelfreeConfig
    ingest_dir: Path
    student: str = "minilm"
    progress: bool = True  # runtime only

    name: ClassVar[str] = "generate"
    key: str = "generate-probe"
    artifacts: ClassVar[tuple[str, ...]] = ("probe", "queries", "rejected")

    def fingerprint_config(self) -> dict:
        found = self.config.fingerprint()
        labelfree = results_dump(self.labelfree)
        found["probe"] = {k: labelfree[k] for k in ("passages", "seed")}
        found["student"] = self.student if self.config.cut_to_student else None
        return found

    def recorded_config(self) -> dict:
        return {**self.config.model_dump(exclude={"backend": {"api_key"}}),
                "probe": self.labelfree.model_dump(mode="json")}

    def inputs(self) -> dict[str, Path]:
        found = {k: self.ingest_dir / f for k, f in (
            ("corpus", "corpus.jsonl"), ("sampled", "sampled.txt"),
            ("heldout", "heldout.txt"), ("duplicates", "duplicates.jsonl"))}
        if self.config.type_file:
            found["type_file"] = Path(self.config.type_file)
        return found

    def run(self, ctx: StageContext) -> StageResult:
        from corpusfit.generate.runner import generate_queries
        from corpusfit.retrieve.passage_tokens import passage_tokens

        ids = probe_ids(self.ingest_dir, self.labelfree)
        write_text(ctx.out / PROBE_FILE, "".join(f"{i}\n" for i in ids))
        if not ids:
            logger.warning("label-free evaluation: no passage left to hold out as a probe "
                           "(every passage is sampled or excluded)")
            write_text(ctx.out / "queries.jsonl", "")
            return StageResult({"probe_passages": 0, "queries": 0}, {"seconds": 0.0})
        tokens = passage_tokens(self.student) if self.config.cut_to_student else None
        summary = generate_queries(self.config, self.ingest_dir, ctx.out,
                                   fingerprint=ctx.fingerprint, force=ctx.force,
                                   progress=self.progress, tokens=tokens,
                                   ids_file=ctx.out / PROBE_FILE)
        logger.info("label-free evaluation: %d probe passages, %d queries generated",
                    len(ids), summary.counts().get("accepted", 0))
        return StageResult({"probe_passages": len(ids), **summary.counts()},
                           {"seconds": round(summary.seconds, 2)})


def steps(layout: RunLayout) -> list[Step]:
    """The probe step after ingest, unless ``evaluate.labelfree.passages`` is 0."""
    labelfree = layout.section("evaluate").labelfree
    if not labelfree.passages:
        return []
    ingest = layout.dir("ingest")
    stage = ProbeStage(layout.section("generate"), labelfree, ingest,
                       layout.section("train").student)
    return [Step(stage, layout.dir("generate", "probe"), [ingest])]
