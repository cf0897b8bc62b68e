"""``corpusfit doctor [CONFIG]``: does the configured generator, teacher and student run here?

Each model is loaded in its own child process (:mod:`corpusfit.isolation`) and does one
tiny job: one generated query, one teacher score of a (query, passage) list, one
encoding. A child that dies on a signal is reported with the likely cause and the fix,
and the other checks still run. Nothing is downloaded (set ``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import math
import platform
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corpusfit.generate.config import GenerateConfig
    from corpusfit.teach.config import TeacherConfig
    from corpusfit.train.config import TrainConfig

HELP = "load the configured (or default) generator, teacher and student and run each once"

CHECKS = ("generator", "teacher", "student")
PACKAGES = ("torch", "transformers", "sentence-transformers", "numpy", "llama-cpp-python")
QUERY = "how does the mach number change the lift of a wing"
PASSAGE = ("The lift of a thin wing in supersonic flow depends on the Mach number and the "
           "angle of attack, as measured in a wind tunnel.")
OTHER = "Library catalogues index books by author, title and subject."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", default=None,
                   help="YAML config (default: the built-in defaults of every stage)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set generate.backend.model=smollm2")
    p.add_argument("--only", type=_check_list, default=list(CHECKS), metavar="LIST",
                   help="comma-separated checks to run (default: generator,teacher,student)")
    p.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                   help="seconds each check may take before its process is killed (600)")


def _check_list(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in names if x not in CHECKS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown check(s) {bad}; choose from {CHECKS}")
    return names


# --- run in the child process -------------------------------------------------------------

def _llama_device() -> str:
    from corpusfit.native import cpu_backend

    return f"cpu (llama.cpp {cpu_backend().variant or 'kernels as built'})"


def _device_of(obj: Any, depth: int = 0) -> str:
    """Where a loaded backend, teacher or encoder runs (best effort)."""
    llm = next((x for x in (getattr(obj, "llm", None), getattr(obj, "_llm", None))
                if x is not None), None)
    if llm is not None:  # llama.cpp's Llama, or vLLM's LLM
        library = type(llm).__module__.split(".")[0]
        return _llama_device() if library == "llama_cpp" else library
    if getattr(obj, "client", None) is not None or getattr(obj, "_client", None) is not None:
        return "remote server"
    for name in ("device", "_device"):
        value = getattr(obj, name, None)
        if value is not None and not callable(value):
            return str(value)
    if depth < 3:
        members = getattr(obj, "members", None) or []
        if members:
            return ", ".join(dict.fromkeys(_device_of(m, depth + 1) for m in members))
        for name in ("encoder", "lm", "model", "_model"):
            inner = getattr(obj, name, None)
            if inner is not None:
                return _device_of(inner, depth + 1)
    return "cpu"


def _finite(values: list[float], what: str) -> None:
    from corpusfit.errors import CorpusfitError

    if not all(math.isfinite(v) for v in values):
        raise CorpusfitError(f"{what} are not finite: {values}")


def llama_info() -> dict:
    """The llama.cpp CPU kernels chosen for this machine and llama.cpp's system info."""
    from corpusfit import native

    chosen = native.cpu_backend()
    return {"variant": chosen.variant, "reason": chosen.reason,
            "system_info": native.system_info().strip()}


def generator_check(generate: GenerateConfig) -> dict:
    """One query of the built-in ``question`` type for a short built-in passage."""
    from corpusfit.errors import CorpusfitError
    from corpusfit.generate.backends import Request, create_backend
    from corpusfit.generate.prompts import build_messages
    from corpusfit.generate.types import builtin_type

    # llama.cpp's CPU kernels must be chosen before the model loads.
    device = _llama_device() if generate.backend.name == "llama-cpp" else None
    backend = create_backend(generate.backend)
    try:
        messages = build_messages(builtin_type("question"), PASSAGE, "doctor", k=1,
                                  seed=generate.seed, max_chars=generate.max_passage_chars)
        sampling = generate.sampling.model_copy(
            update={"max_new_tokens": min(24, generate.sampling.max_new_tokens)})
        request = Request("doctor", "question", messages, seed=generate.seed, passage=PASSAGE)
        out = backend.generate([request], sampling)[0]
        device = device or _device_of(backend)
    finally:
        backend.close()
    if out.text is None:
        raise CorpusfitError(f"no text generated: {out.error}")
    return {"ran": f"{backend.name} {backend.model_name}", "device": device,
            "detail": f"query {out.text.strip()!r}"}


def teacher_check(teacher: TeacherConfig) -> dict:
    """Scores of one query against a relevant and an unrelated passage."""
    from corpusfit.teach.base import build_teacher

    built = build_teacher(teacher)
    scores = built.score(QUERY, [PASSAGE, OTHER])
    _finite(scores, "teacher scores")
    return {"ran": _teacher_label(teacher), "device": _device_of(built),
            "detail": f"scores: relevant passage {scores[0]:.3f}, unrelated {scores[1]:.3f}"}


def student_check(train: TrainConfig) -> dict:
    """One query encoded by the student model the train stage starts from."""
    from corpusfit.retrieve.encoder import DenseEncoder

    encoder = DenseEncoder.load(train.student, train.encoder_options(), device=train.device)
    emb = encoder.encode([QUERY], "query", show_progress=False)
    _finite([float(x) for x in emb[0]], "embedding values")
    return {"ran": f"{train.student} ({encoder.name})", "device": str(encoder.device),
            "detail": f"{emb.shape[1]}-dim embedding"}


# --- the parent: configs, header, table ---------------------------------------------------

def _teacher_label(t: TeacherConfig) -> str:
    if t.kind == "ensemble":
        return "ensemble(" + ", ".join(_teacher_label(m) for m in t.members) + ")"
    return f"{t.kind} {getattr(t, 'model', '')}".strip()


def _sections(path: str | None, overrides: list[str]) -> dict[str, Any]:
    """The generate, label and train sections of the config, else the stages' defaults."""
    from corpusfit.config import load_config

    # Without a file, the root model's required corpus is a stand-in: no check reads it.
    config = load_config(path, overrides, base=None if path else {"corpus": "."})
    return {name: s for name in ("generate", "label", "train")
            if (s := getattr(config, name, None)) is not None}


def _plan(sections: dict[str, Any]) -> dict[str, tuple[Any, Any, str]]:
    """check -> (child function, its argument, what runs) for the stages present."""
    from corpusfit.generate.config import DEFAULT_GGUF

    plan = {}
    if "generate" in sections:
        b = sections["generate"].backend
        model = b.model or (DEFAULT_GGUF if b.name == "llama-cpp" else "default")
        plan["generator"] = (generator_check, sections["generate"],
                             f"{b.name} generator ({model})")
    if "label" in sections:
        t = sections["label"].teacher
        plan["teacher"] = (teacher_check, t, f"{_teacher_label(t)} teacher")
    if "train" in sections:
        s = sections["train"]
        plan["student"] = (student_check, s, f"student encoder ({s.student})")
    return plan


def _versions() -> str:
    parts = [f"python {platform.python_version()}"]
    for name in PACKAGES:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def _table(rows: list[dict], columns: list[str]) -> str:
    """Left-aligned columns (``seconds`` right-aligned) under a header and a rule."""
    cells = [columns] + [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    rule = ["-" * w for w in widths]
    return "\n".join("  ".join(v.rjust(w) if c == "seconds" else v.ljust(w)
                               for v, w, c in zip(row, widths, columns)).rstrip()
                     for row in [cells[0], rule, *cells[1:]])


def _llama_header(timeout: float) -> list[str]:
    from corpusfit.errors import CorpusfitError
    from corpusfit.isolation import run_in_child

    if importlib.util.find_spec("llama_cpp") is None:
        return []
    try:
        info = run_in_child(llama_info, what="llama.cpp library", timeout=timeout)
    except CorpusfitError as e:
        return [f"llama.cpp: FAILED to load: {e}"]
    return [f"llama.cpp CPU kernels: {info['variant'] or '(as built)'} ({info['reason']})",
            f"llama.cpp system info: {info['system_info']}"]


def main(args: argparse.Namespace) -> int:
    from corpusfit.errors import CorpusfitError
    from corpusfit.isolation import run_in_child
    from corpusfit.version import __version__

    plan = _plan(_sections(args.config, args.set))
    overrides = f" with {' '.join(args.set)}" if args.set else ""
    print(f"corpusfit {__version__} doctor: {args.config or 'built-in defaults'}{overrides}")
    print(_versions())
    for line in _llama_header(args.timeout):
        print(line)
    rows, notes, failed = [], [], 0
    for name in args.only:
        if name not in plan:
            rows.append({"check": name, "status": "skipped", "what ran": "stage not installed"})
            continue
        fn, section, what = plan[name]
        start = time.monotonic()
        try:
            out = run_in_child(fn, section, what=what, timeout=args.timeout)
            row = {"status": "ok", "device": out["device"], "what ran": out["ran"]}
            notes.append(f"{name}: {out['detail']}")
        except CorpusfitError as e:
            failed += 1
            row = {"status": "FAILED", "device": "-", "what ran": what}
            notes.append(f"{name}: {e}")
        rows.append({"check": name, **row, "seconds": f"{time.monotonic() - start:.1f}"})
    print()
    print(_table(rows, ["check", "status", "seconds", "device", "what ran"]))
    print()
    for note in notes:
        print(note)
    print(f"\n{failed} check(s) FAILED" if failed else "\nall checks passed")
    return 1 if failed else 0
