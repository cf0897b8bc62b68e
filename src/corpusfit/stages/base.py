"""The one door of every stage: fingerprint, skip or resume, timing, manifest.

A stage declares its config and its inputs; :func:`run_stage` decides whether its
folder already holds a finished result, calls :meth:`Stage.run` when it does not,
and writes the folder's two records, which nothing else writes:

- ``manifest.json``: the stage's fingerprint, config, counts and timings, written
  last: a folder with a matching manifest is finished. The fingerprint follows one rule
  for every stage (:meth:`Stage.fingerprint`): the recorded config without its
  runtime-only fields (:mod:`corpusfit.fields`), the hashes of the inputs, and the
  schema versions of the artifacts the stage writes (:mod:`corpusfit.data.artifacts`),
  never the package version: a new release reruns nothing.
- ``.pipeline.json``: the state (``running`` or ``done``), seconds, a fresh
  ``run_id`` per real run, and the ``run_id`` of every upstream folder the stage
  came after. A stage reruns when an upstream folder was redone, even when the
  upstream output happens to hash the same (``--force mine`` redoes label).

Resume after Ctrl-C or ``kill -9`` is the stage's own business (appends and
checkpoints); the stage is told the fingerprint so that it can discard partial work
that no longer matches. State files written before upstream ids were recorded (no
``upstream`` key) are trusted as far as their manifest's fingerprint matches, and
manifests of 0.1.0 (which hashed the package version, and for some stages the whole
config) match through :meth:`Stage.legacy_configs`, so run directories of earlier
versions resume.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from corpusfit.data.artifacts import ARTIFACTS
from corpusfit.errors import ConfigError, CorpusfitError, DataError
from corpusfit.fields import results_dump
from corpusfit.workspace import (
    MANIFEST,
    STATE_FILE,
    config_hash,
    manifest_matches,
    read_json,
    stage_fingerprint,
    write_json,
    write_manifest,
)

logger = logging.getLogger(__name__)


@dataclass
class StageContext:
    """What a stage's ``run`` is given: its folder, its fingerprint and whether to start over."""

    out: Path
    fingerprint: dict
    force: bool = False


@dataclass
class StageResult:
    """What a stage's ``run`` returns: the manifest's counts and timings, and its own value
    (a summary object, the metrics...) for the caller."""

    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    value: Any = None
    record: bool = True  # False on the non-main processes of a distributed run


class Stage:
    """The common part of every stage (or variant of one, such as ``train-infonce``).

    A stage is a small dataclass holding its ``config`` (a pydantic model) and the paths
    of its inputs; it says what it reads (:meth:`inputs`), which artifacts it writes
    (``artifacts``, names in :data:`corpusfit.data.artifacts.ARTIFACTS`) and how to do
    the work (:meth:`run`). :func:`run_stage` does the rest. A subclass overrides
    :meth:`fingerprint_config` only to add the identity of something that is not a
    file (the student model of ``train``).

    Attributes:
        name: the stage (``ingest`` ... ``report``), what ``--until`` names.
        key: unique name of this instance (``train`` or ``train-infonce``; default: name).
        artifacts: the artifacts it writes; their files must exist for it to be done.
        config: its settings (``None`` for a stage without any).
    """

    name: ClassVar[str]
    artifacts: ClassVar[tuple[str, ...]] = ()
    config: Any  # a subclass field (absent: a stage without settings)

    def __getattr__(self, attr: str) -> Any:
        # ``key``: unique name of this instance (``train-infonce``); a stage that has no
        # such field is its ``name``. (Not a class attribute: dataclass fields would take
        # it for a default.)
        if attr == "key":
            return self.name
        raise AttributeError(f"{type(self).__name__} has no attribute {attr!r}")

    @property
    def outputs(self) -> tuple[str, ...]:
        """The files (inside the stage's folder) it must have written to be done."""
        return tuple(ARTIFACTS[a].file for a in self.artifacts
                     if ARTIFACTS[a].file and ARTIFACTS[a].required)

    def recorded_config(self) -> Any:
        """The config as the manifest records it (secrets are masked when written)."""
        config = getattr(self, "config", None)
        return config.model_dump(mode="json") if config is not None else {}

    def fingerprint_config(self) -> Any:
        """The recorded config without its runtime-only fields, at every depth."""
        config = getattr(self, "config", None)
        return results_dump(config) if config is not None else {}

    def legacy_configs(self) -> list[Any]:
        """Config forms 0.1.0 hashed where they differ from today's (old manifests match)."""
        return []

    def inputs(self) -> dict[str, Path]:
        """Name -> file or folder whose content is part of the fingerprint."""
        return {}

    def fingerprint(self) -> dict:
        """Config hash, input hashes and artifact schema versions (never the package version)."""
        schema = {a: ARTIFACTS[a].schema for a in self.artifacts}
        return stage_fingerprint(self.fingerprint_config(), self.inputs(), schema)

    def run(self, ctx: StageContext) -> StageResult:
        """Do the work into ``ctx.out`` (resuming what is there when it still holds)."""
        raise NotImplementedError


@dataclass
class StageOutcome:
    """What :func:`run_stage` did with one stage."""

    key: str
    out: Path
    status: str  # "ran" | "skipped"
    seconds: float
    last_run_seconds: float | None = None
    manifest: dict = field(default_factory=dict)
    value: Any = None

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"

    @property
    def counts(self) -> dict:
        return self.manifest.get("counts", {})


def fingerprint_of(stage: Stage) -> dict:
    """The stage's fingerprint (:meth:`Stage.fingerprint`)."""
    return stage.fingerprint()


def legacy_hashes(stage: Stage) -> list[str]:
    """Config hashes an 0.1.0 manifest of ``stage`` may hold for today's config."""
    return [config_hash(c) for c in [stage.fingerprint_config(), *stage.legacy_configs()]]


def read_state(out: Path) -> dict:
    """The folder's ``.pipeline.json`` ({} when absent or unreadable)."""
    try:
        state = read_json(Path(out) / STATE_FILE)
    except DataError:
        return {}
    return state if isinstance(state, dict) else {}


def _upstream_ids(after: Iterable[Path]) -> dict[str, str | None]:
    return {Path(f).name: read_state(f).get("run_id") for f in after}


def is_done(stage: Stage, out: Path, fingerprint: dict, upstream: dict) -> bool:
    """Finished with this fingerprint, every output present, after the same upstream runs."""
    if not manifest_matches(out, fingerprint, legacy_hashes(stage)):
        return False
    if any(not (out / name).exists() for name in stage.outputs):
        return False
    state = read_state(out)
    # Older run directories recorded no upstream ids: their fingerprint alone decides.
    return "upstream" not in state or state["upstream"] == upstream


def run_stage(stage: Stage, out: str | Path, *, force: bool = False,
              after: Iterable[Path] = ()) -> StageOutcome:
    """Run ``stage`` into ``out`` unless it is done; the only writer of manifests.

    Args:
        stage: the stage.
        out: its folder.
        force: redo even when done; the stage discards its partial work.
        after: folders of upstream stages; a new run of any of them makes this one rerun.
    """
    out = Path(out)
    fingerprint = fingerprint_of(stage)
    upstream = _upstream_ids(after)
    state = read_state(out)
    if not force and is_done(stage, out, fingerprint, upstream):
        logger.info("%s: up to date, skipped (%s)", stage.key, out)
        return StageOutcome(stage.key, out, "skipped", 0.0, state.get("seconds"),
                            read_json(out / MANIFEST))
    _log_why(stage.key, out, state, fingerprint, force)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # the folder is no longer a finished result
    write_json(out / STATE_FILE, {"fingerprint": fingerprint, "status": "running",
                                  "upstream": upstream,
                                  "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    t0 = time.perf_counter()
    result = stage.run(StageContext(out, fingerprint, force))
    seconds = time.perf_counter() - t0
    manifest = {**fingerprint, "config": stage.recorded_config(), "counts": result.counts,
                "timings": {"seconds": round(seconds, 3), **result.timings}}
    if result.record:
        _finish(stage, out, manifest, fingerprint, upstream, seconds)
    logger.info("%s: done in %.1f s", stage.key, seconds)
    return StageOutcome(stage.key, out, "ran", seconds, seconds, manifest, result.value)


def _finish(stage: Stage, out: Path, manifest: dict, fingerprint: dict, upstream: dict,
            seconds: float) -> None:
    missing = [name for name in stage.outputs if not (out / name).exists()]
    if missing:
        raise CorpusfitError(f"stage {stage.key} finished without writing {out / missing[0]}")
    write_manifest(out, fingerprint, manifest["config"], manifest["counts"],
                   manifest["timings"])
    # A fresh run id makes every stage that came after this one rerun.
    write_json(out / STATE_FILE, {"fingerprint": fingerprint, "status": "done",
                                  "seconds": round(seconds, 3), "run_id": uuid.uuid4().hex,
                                  "upstream": upstream,
                                  "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})


def _log_why(key: str, out: Path, state: dict, fingerprint: dict, force: bool) -> None:
    if force:
        logger.info("%s: --force, redoing %s", key, out)
    elif state.get("fingerprint") not in (None, fingerprint):
        # Not cleared: the stage checks its partial work against the fingerprint itself.
        logger.info("%s: config or inputs changed since the last run; rerunning", key)
    elif state.get("status") == "running":
        logger.info("%s: resuming an interrupted run in %s", key, out)
    else:
        logger.info("%s: running -> %s", key, out)


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n: the slice of a stage's work one machine does."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected I/N, e.g. 0/4") from None
    if not 0 <= i < n:
        raise ConfigError(f"--shard {text!r}: need 0 <= I < N")
    return i, n
