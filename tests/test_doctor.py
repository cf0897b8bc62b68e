"""``corpusfit doctor``: each model runs in a child; a crash is one FAILED row, not the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpusfit.cli import main
from corpusfit.cli.doctor import CHECKS

GENERATE_TESTS = Path(__file__).parent / "generate"  # fake_backend.py, for the children


@pytest.fixture
def doctor_config(tmp_path, tiny_beir, tiny_bert, monkeypatch):
    """Write a config with a given generator backend, the BM25 teacher and a tiny student."""
    monkeypatch.syspath_prepend(str(GENERATE_TESTS))  # spawn passes sys.path to the child

    def write(backend: str) -> Path:
        path = tmp_path / "doctor.yaml"
        path.write_text(f"corpus: {tiny_beir}\n"
                        f"generate: {{backend: {{name: '{backend}', model: tiny-fake}}}}\n"
                        "label: {teacher: {kind: bm25}}\n"
                        f"train: {{student: '{tiny_bert}', device: cpu}}\n")
        return path
    return write


def _rows(out: str) -> dict[str, str]:
    """check name -> its line of the printed table."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) > 1 and parts[0] in CHECKS and parts[1] in ("ok", "FAILED"):
            rows[parts[0]] = line
    return rows


def test_doctor_passes_with_tiny_models(doctor_config, capfd):
    rc = main(["doctor", str(doctor_config("fake_backend:TemplatedBackend"))])
    out = capfd.readouterr().out
    rows = _rows(out)
    assert rc == 0, out
    assert set(rows) == {"generator", "teacher", "student"}
    assert all(" ok " in row for row in rows.values())
    assert "fake-templated tiny-fake" in rows["generator"] and "bm25" in rows["teacher"]
    assert "cpu" in rows["student"] and "tiny_bert" in rows["student"]
    assert "python 3." in out and "torch " in out and "numpy " in out
    assert "generator: query 'what is known about" in out
    assert "student: 32-dim embedding" in out and "all checks passed" in out


def test_doctor_reports_a_segfaulting_generator_and_runs_the_rest(doctor_config, capfd):
    rc = main(["doctor", str(doctor_config("fake_backend:SegfaultBackend"))])
    captured = capfd.readouterr()
    rows = _rows(captured.out)
    assert rc == 1
    assert "FAILED" in rows["generator"]
    assert " ok " in rows["teacher"] and " ok " in rows["student"]
    assert ("generator: fake_backend:SegfaultBackend generator (tiny-fake) crashed: its "
            "process died on SIGSEGV") in captured.out
    assert "CPU kernel variant" in captured.out and "make install" in captured.out
    assert "Segmentation fault" in captured.err  # faulthandler's stack of the child
    assert "1 check(s) FAILED" in captured.out


def test_doctor_timeout_and_only(doctor_config, capfd, monkeypatch):
    monkeypatch.setenv("FAKE_BACKEND_DELAY", "30")
    rc = main(["doctor", str(doctor_config("fake_backend:TemplatedBackend")),
               "--only", "generator", "--timeout", "2"])
    out = capfd.readouterr().out
    assert rc == 1 and set(_rows(out)) == {"generator"}
    assert "no result after 2 s; the child process was killed" in out
