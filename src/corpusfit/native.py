"""llama.cpp as a portable native library: pick the CPU kernels at run time, never AMX.

``make install`` builds llama-cpp-python with ``GGML_BACKEND_DL`` and
``GGML_CPU_ALL_VARIANTS``: ggml's CPU kernels are compiled once per instruction-set
level (x64, sse42, ..., haswell = AVX2, skylakex/icelake/zen4 = AVX-512, sapphirerapids =
AVX-512 + AMX) into ``llama_cpp/lib/libggml-cpu-<variant>.so`` and nothing in the wheel
depends on the CPU that built it. ggml's own loader would pick the variant with the
highest score, i.e. the AMX one on CPUs that have AMX, and that path segfaults with the
bundled generators (issue #11). So corpusfit chooses: the best-scoring variant this CPU
supports, leaving out ``sapphirerapids`` unless ``CORPUSFIT_GGML_CPU`` names a variant.

Builds without runtime variants (a CUDA build, a user's own native build) are used as
they are. Everything here must run before the first ``Llama(...)``, whose
``llama_backend_init`` would otherwise load ggml's own choice.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from corpusfit.errors import CorpusfitError

logger = logging.getLogger(__name__)

ENV_VARIANT = "CORPUSFIT_GGML_CPU"
# Variants with AMX tile kernels: they crash the bundled models on AMX CPUs.
EXCLUDED_VARIANTS = ("sapphirerapids",)
_VARIANT = re.compile(r"^libggml-cpu-(?P<name>[a-z0-9_]+)\.so$")


@dataclass
class CpuBackend:
    """What was loaded: the chosen variant, every variant's score, and why."""

    variant: str | None
    path: str | None
    scores: dict[str, int] = field(default_factory=dict)
    reason: str = ""


_LOADED: CpuBackend | None = None


def variant_files(lib_dir: Path) -> dict[str, Path]:
    """``{variant: path}`` of the CPU kernel libraries in a llama_cpp ``lib`` folder."""
    found = {}
    for path in sorted(lib_dir.glob("libggml-cpu-*.so")):
        m = _VARIANT.match(path.name)
        if m:
            found[m.group("name")] = path
    return found


def accelerator_files(lib_dir: Path) -> list[Path]:
    """Non-CPU backend modules of a ``GGML_BACKEND_DL`` build (``libggml-cuda.so``, ...)."""
    return [p for p in sorted(lib_dir.glob("libggml-*.so"))
            if p.name not in ("libggml-base.so",) and not p.name.startswith("libggml-cpu")]


def variant_score(path: Path) -> int:
    """ggml's own score of a variant on this CPU (0: an instruction it needs is missing)."""
    import _ctypes

    lib = ctypes.CDLL(str(path))
    try:
        fn = getattr(lib, "ggml_backend_score", None)
        if fn is None:
            return 0
        fn.restype = ctypes.c_int
        return int(fn())
    finally:
        _ctypes.dlclose(lib._handle)  # only the chosen variant stays loaded


def _ggml_of_libllama(lib_dir: Path) -> ctypes.CDLL:
    """The libggml instance libllama itself uses.

    The wheel holds ``libggml.so`` and ``libggml.so.0`` as two files; libllama loads the
    soname (``.so.0``) while llama_cpp's ``_ggml`` module opens ``libggml.so``, a second
    copy with its own backend registry. A backend registered there is invisible to llama.
    """
    for name in sorted(lib_dir.glob("libggml.so.*"), key=lambda p: len(p.name)):
        return ctypes.CDLL(str(name))
    return ctypes.CDLL(str(lib_dir / "libggml.so"))


def choose_variant(scores: dict[str, int], forced: str | None) -> tuple[str | None, str]:
    """The variant to load and a sentence saying why."""
    if forced:
        if forced not in scores:
            raise CorpusfitError(f"{ENV_VARIANT}={forced}: no such llama.cpp CPU variant "
                                 f"(built: {', '.join(sorted(scores))})")
        if scores[forced] <= 0:
            raise CorpusfitError(f"{ENV_VARIANT}={forced}: this CPU lacks an instruction "
                                 "that variant needs")
        return forced, f"forced by {ENV_VARIANT}"
    allowed = {n: s for n, s in scores.items() if s > 0 and n not in EXCLUDED_VARIANTS}
    if not allowed:
        return None, "no CPU variant runs on this machine"
    best = max(allowed, key=lambda n: (allowed[n], n))
    skipped = [n for n in EXCLUDED_VARIANTS if scores.get(n, 0) > allowed[best]]
    why = "best score on this CPU"
    if skipped:
        why += f"; skipped {', '.join(skipped)} (AMX kernels crash the bundled models)"
    return best, why


def load_llama_cpp():
    """Import ``llama_cpp`` with a CPU backend chosen for this machine; returns the module."""
    try:
        import llama_cpp
    except ImportError as e:
        raise CorpusfitError("this needs llama-cpp-python (pip install 'corpusfit[llama]'; "
                             "`make install` builds it portably)") from e
    _load_cpu_backend(llama_cpp)
    return llama_cpp


def cpu_backend() -> CpuBackend:
    """The CPU kernels llama.cpp uses in this process (loaded on first use)."""
    load_llama_cpp()
    assert _LOADED is not None
    return _LOADED


def _load_cpu_backend(llama_cpp) -> CpuBackend:
    global _LOADED
    if _LOADED is not None:
        return _LOADED
    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    files = variant_files(lib_dir)
    if not files:
        _LOADED = CpuBackend(None, None, reason="a build without runtime CPU variants")
        return _LOADED
    ggml = _ggml_of_libllama(lib_dir)
    ggml.ggml_backend_reg_count.restype = ctypes.c_size_t
    if ggml.ggml_backend_reg_count() > 0:
        _LOADED = CpuBackend(None, None, reason="backends were loaded before corpusfit chose")
        logger.warning("llama.cpp backends already loaded; the CPU variant was not chosen")
        return _LOADED
    scores = {name: variant_score(path) for name, path in files.items()}
    name, why = choose_variant(scores, os.environ.get(ENV_VARIANT) or None)
    if name is None:
        raise CorpusfitError(f"llama.cpp: {why} (scores {scores})")
    ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
    ggml.ggml_backend_load.restype = ctypes.c_void_p
    if not ggml.ggml_backend_load(str(files[name]).encode()):
        raise CorpusfitError(f"llama.cpp: could not load {files[name]}")
    for path in accelerator_files(lib_dir):  # e.g. a CUDA build with GGML_BACKEND_DL
        if not ggml.ggml_backend_load(str(path).encode()):
            logger.warning("llama.cpp: could not load %s", path)
    if not llama_cpp.llama_print_system_info():
        raise CorpusfitError(f"llama.cpp does not see the CPU kernels loaded from {files[name]}")
    _LOADED = CpuBackend(name, str(files[name]), scores, why)
    logger.info("llama.cpp CPU kernels: %s (%s)", name, why)
    return _LOADED


def require_portable() -> str:
    """Fail unless the installed llama.cpp carries runtime CPU variants (``make install``)."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusfitError("llama-cpp-python is not installed")
    lib_dir = Path(next(iter(spec.submodule_search_locations))) / "lib"
    found = variant_files(lib_dir)
    if not found:
        raise CorpusfitError(f"{lib_dir} has no libggml-cpu-<variant>.so: this llama.cpp was "
                             "built for one CPU (e.g. -march=native) and may crash elsewhere; "
                             "reinstall it with `make install`")
    return f"llama.cpp CPU variants: {', '.join(found)}"


def system_info() -> str:
    """llama.cpp's own line of the instruction sets its loaded kernels use."""
    llama_cpp = load_llama_cpp()
    raw = llama_cpp.llama_print_system_info()
    return raw.decode() if isinstance(raw, bytes) else str(raw)


if __name__ == "__main__":  # `python -m corpusfit.native`: the install's own check
    import sys

    try:
        print(require_portable())
        print(f"chosen: {cpu_backend().variant} ({cpu_backend().reason})")
        print(system_info())
    except CorpusfitError as e:
        print(f"corpusfit: error: {e}", file=sys.stderr)
        sys.exit(2)
