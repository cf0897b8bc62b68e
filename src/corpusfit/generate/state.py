"""What a generate folder's records were made under, and what happens when that changes.

``state.json`` holds the hashes of the settings that decide the records (the config
without runtime-only fields, the ingested corpus, the prompts: system line, every
type's definition and few-shot pool, and a rendered probe of both prompt layouts).
When it no longer matches (or ``--force``), the records are not deleted: they move to
``superseded/<state hash>/`` and every pair is asked again through the completion
store, which answers unchanged requests for free; going back to a state seen before
moves its records back. ``positions.json`` gives each passage a position that never
changes (new passages are appended), so the shared-prefix few-shot block of a passage,
and with it its prompt, survives added and removed passages.
"""

from __future__ import annotations

import logging
from pathlib import Path

from corpusfit.errors import DataError
from corpusfit.generate.config import GenerateConfig
from corpusfit.generate.prompts import (
    SYSTEM,
    build_messages,
    build_shared_messages,
    example_groups,
)
from corpusfit.generate.types import QueryType
from corpusfit.workspace import config_hash, file_sha256, read_json, write_json

logger = logging.getLogger(__name__)

STATE = "state.json"
POSITIONS = "positions.json"
SUPERSEDED = "superseded"
RECORDS = ("queries.jsonl", "rejected.jsonl")


def prompts_hash(types: list[QueryType]) -> str:
    """Hash of everything a prompt is made of, the code's templates included."""
    probe = [build_shared_messages(t, "<passage>", example_groups(types)) for t in types]
    probe += [build_messages(t, "<passage>", "<id>", k=1, seed=0, max_chars=100)
              for t in types]
    return config_hash({"system": SYSTEM, "types": [t.model_dump(mode="json") for t in types],
                        "probe": probe})


def run_state(config: GenerateConfig, types: list[QueryType], corpus: Path,
              corpus_hash: str | None = None) -> dict:
    """The state of a generate run (``corpus_hash``: the ingested corpus's, when known)."""
    return {"config_hash": config_hash(config.fingerprint()),
            "corpus": corpus_hash or file_sha256(corpus), "prompts": prompts_hash(types)}


def _same(old: dict, new: dict) -> bool:
    # States of 0.1.0 carry a package version (ignored) and no prompts hash (trusted, so
    # their run directories keep resuming).
    return all(old.get(k) == new[k] for k in ("config_hash", "corpus")) \
        and old.get("prompts", new["prompts"]) == new["prompts"]


def _move_records(src: Path, dst: Path) -> bool:
    present = [n for n in RECORDS if (src / n).exists()]
    if not present:
        return False
    dst.mkdir(parents=True, exist_ok=True)
    for name in present:  # one rename each: a crash in between leaves both files whole
        (src / name).replace(dst / name)
    return True


def reconcile(out: Path, state: dict, force: bool) -> bool:
    """Keep, shelve or bring back the records of ``out`` for ``state``; True when the
    records were shelved (every pair is asked again, through the store)."""
    path = out / STATE
    try:
        old = read_json(path) if path.exists() else None
    except DataError:
        old = {}  # unreadable: what made the records is unknown, so they are shelved
    if old is not None and not isinstance(old, dict):
        old = {}
    changed = force or (old is not None and not _same(old, state))
    if changed:
        old_tag = config_hash(old) if old else "unknown"
        if _move_records(out, out / SUPERSEDED / old_tag):
            logger.warning("generate: %s; earlier records kept in %s, unchanged requests "
                           "are answered by the completion store",
                           "--force given" if force else "settings, prompts or corpus changed",
                           out / SUPERSEDED / old_tag)
        back = out / SUPERSEDED / config_hash(state)
        if not force and _move_records(back, out):
            logger.info("generate: records of this state brought back from %s", back)
        (out / "manifest.json").unlink(missing_ok=True)
    write_json(path, state)
    return changed


def positions(out: Path, sampled: list[str]) -> dict[str, int]:
    """A position per sampled passage that never changes; new passages come last."""
    path = out / POSITIONS
    try:
        known = read_json(path) if path.exists() else {}
    except DataError:
        known = {}
    if not isinstance(known, dict) or not all(isinstance(v, int) for v in known.values()):
        known = {}
    nxt = max(known.values(), default=-1) + 1
    added = [sid for sid in sampled if sid not in known]
    for i, sid in enumerate(added):
        known[sid] = nxt + i
    if added or not path.exists():
        write_json(path, known)
    return {sid: known[sid] for sid in sampled}
