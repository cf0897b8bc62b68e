"""Build a folder of real documents of mixed formats for a first-user check of ingest/run.

Debian's python3-doc HTML pages (``apt-get install python3-doc``: the tutorial and the
HOWTOs), plus a PDF (drawn by matplotlib, extractable TrueType text) and a DOCX
(python-docx) written from two of those pages' text, and one broken PDF that must be
named and counted, not stop the run.

    python scripts/make_real_docs.py runs/real-docs/corpus
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

HTML = Path("/usr/share/doc/python3.11/html")


def _pdf(path: Path, title: str, text: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    lines = [line for para in text.split("\n\n") for line in textwrap.wrap(para, 90) + [""]]
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:
        for start in range(0, len(lines), 45):
            fig = plt.figure(figsize=(8.5, 11))
            if start == 0:
                fig.text(0.08, 0.96, title, fontsize=14)
            for i, line in enumerate(lines[start:start + 45]):
                fig.text(0.08, 0.92 - 0.019 * i, line, fontsize=9)
            pdf.savefig(fig)
            plt.close(fig)


def _docx(path: Path, title: str, text: str) -> None:
    import docx

    doc = docx.Document()
    doc.add_heading(title, level=1)
    for para in text.split("\n\n"):
        if para.strip():
            doc.add_paragraph(para.strip())
    doc.save(path)


def _page_text(page: Path) -> str:
    import trafilatura

    return trafilatura.extract(page.read_text(encoding="utf-8"), output_format="txt") or ""


def main(out: str) -> int:
    dst = Path(out)
    for sub in ("tutorial", "howto"):
        (dst / sub).mkdir(parents=True, exist_ok=True)
        for page in sorted((HTML / sub).glob("*.html")):
            shutil.copy(page, dst / sub / page.name)
    _pdf(dst / "sorting.pdf", "Sorting HOW TO (PDF)", _page_text(HTML / "howto" / "sorting.html"))
    _docx(dst / "unicode.docx", "Unicode HOWTO (DOCX)", _page_text(HTML / "howto" / "unicode.html"))
    (dst / "broken.pdf").write_bytes(b"%PDF-1.7 truncated download")
    print(f"{sum(1 for _ in dst.rglob('*.*'))} files in {dst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
