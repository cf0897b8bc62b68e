"""A folder of real document files (HTML, PDF, DOCX, text) read through the docs extra."""

from __future__ import annotations

import json

import pytest

from corpusfit.cli import main as cli_main
from corpusfit.data.documents import read_folder
from corpusfit.data.ingest import IngestConfig
from corpusfit.data.readers import load_corpus
from corpusfit.errors import DataError
from corpusfit.stages.ingest import run_ingest

HTML = """<!DOCTYPE html><html><head><title>Shock tubes</title></head><body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<article><h1>Shock tubes</h1>
<p>A shock tube produces a plane shock wave by bursting a diaphragm between a driver gas
at high pressure and a driven gas at low pressure. The shock then travels down the tube.</p>
<p>Measurements behind the reflected shock give the heat transfer to the end wall.</p>
</article><footer>Copyright 2026</footer></body></html>"""


def _pdf(path, lines: list[str]) -> None:
    """A real PDF with extractable text, drawn by matplotlib (TrueType fonts embedded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"pdf.fonttype": 42}):
        fig = plt.figure(figsize=(8.5, 11))
        for i, line in enumerate(lines):
            fig.text(0.1, 0.9 - 0.05 * i, line, fontsize=12)
        fig.savefig(path, format="pdf")
        plt.close(fig)


def _docx(path, paragraphs: list[str]) -> None:
    docx = pytest.importorskip("docx", reason="python-docx (dev extra) writes the test .docx")
    doc = docx.Document()
    doc.add_heading("Wind tunnel notes", level=1)
    for p in paragraphs:
        doc.add_paragraph(p)
    doc.save(path)


@pytest.fixture
def mixed_folder(tmp_path):
    pytest.importorskip("pypdf", reason="the docs extra is not installed")
    folder = tmp_path / "docs"
    (folder / "web").mkdir(parents=True)
    (folder / "web" / "shock.html").write_text(HTML)
    _pdf(folder / "laminar.pdf", ["Laminar flow over a flat plate.",
                                  "The skin friction falls with the Reynolds number."])
    _docx(folder / "tunnel.docx", ["The supersonic wind tunnel runs at Mach 3.",
                                   "Schlieren pictures show the oblique shocks."])
    (folder / "notes.md").write_text("# Notes\n\nBoundary layer transition on cones.")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (folder / "bad.txt").write_bytes(b"caf\xe9 latin-1 bytes")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    return folder


def test_each_format_through_its_library(mixed_folder):
    found = read_folder(mixed_folder)
    docs = found.docs
    assert sorted(docs) == ["laminar", "notes", "tunnel", "web/shock"]
    shock = docs["web/shock"]
    assert shock.title == "Shock tubes" and "bursting a diaphragm" in shock.text
    assert "Copyright" not in shock.text and "About" not in shock.text  # boilerplate dropped
    assert "skin friction falls" in docs["laminar"].text
    assert "Mach 3" in docs["tunnel"].text and "Wind tunnel notes" in docs["tunnel"].text
    failed = dict(found.failures)
    assert set(failed) == {"broken.pdf", "bad.txt"}
    assert "UTF-8" in failed["bad.txt"]
    counts = found.counts()
    assert counts["files_failed"] == 2 and counts["failed_by_format"] == {".pdf": 1, ".txt": 1}
    assert counts["unsupported_by_format"] == {".jpg": 1}


def test_ingest_goes_on_past_unreadable_files_and_names_them(mixed_folder, tmp_path):
    counts = run_ingest(IngestConfig(), mixed_folder, tmp_path / "out")
    assert counts["documents"] == 4 and counts["files_failed"] == 2
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    named = {f["file"] for f in manifest["counts"]["failures"]}
    assert named == {"broken.pdf", "bad.txt"}


def test_a_folder_where_nothing_can_be_read_exits_2(tmp_path, capsys):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"\xff\xfe")
    (folder / "b.pdf").write_bytes(b"not a pdf")
    with pytest.raises(DataError, match=r"none of its 2 document files could be read"):
        load_corpus(folder)
    assert cli_main(["ingest", "--corpus", str(folder), "--out", str(tmp_path / "o")]) == 2
    assert "a.txt" in capsys.readouterr().err


def test_a_folder_without_document_files_says_what_it_found(tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "x.png").write_bytes(b"\x89PNG")
    with pytest.raises(DataError, match=r"no document files found .*\.png"):
        load_corpus(folder)
