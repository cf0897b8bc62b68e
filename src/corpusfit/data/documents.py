"""A folder of document files as a corpus: text, Markdown, HTML, PDF, Word and more.

Each file is one document whose id is its path relative to the folder, without the
suffix. Text and Markdown are read as they are; the other formats go through a library
made for them, installed by the ``docs`` extra (``pip install 'corpusfit[docs]'``):

- ``.html``/``.htm``: trafilatura (the main text as Markdown, boilerplate dropped);
- ``.pdf``: pypdf (the text of every page);
- ``.docx``, ``.pptx``, ``.xlsx``, ``.epub``...: markitdown (as Markdown).

A file that cannot be read (bad bytes, an encrypted PDF, no text in it, its library not
installed) is named in :attr:`FolderRead.failures` and the rest is read; a file of a
format nobody reads is counted in :attr:`FolderRead.unsupported`. Nothing is skipped
without being counted.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from corpusfit.data.ids import bad_id
from corpusfit.data.schema import Document
from corpusfit.errors import DataError
from corpusfit.reading import read_text, regular_file

logger = logging.getLogger(__name__)

_EXTRA = "pip install 'corpusfit[docs]'"
TEXT_SUFFIXES = (".txt", ".md", ".markdown")
MARKITDOWN_SUFFIXES = (".docx", ".pptx", ".xlsx", ".epub", ".odt", ".rtf")


@dataclass
class FolderRead:
    """What reading a folder gave: documents, and every file that gave none."""

    docs: dict[str, Document]
    failures: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    unsupported: Counter = field(default_factory=Counter)  # suffix -> files

    def counts(self) -> dict:
        """The manifest's account of the files: read, failed (per format), unsupported."""
        failed = Counter(Path(f).suffix.lower() or "(none)" for f, _ in self.failures)
        return {"files_read": len(self.docs), "files_failed": len(self.failures),
                "failed_by_format": dict(sorted(failed.items())),
                "failures": [{"file": f, "reason": r} for f, r in self.failures[:100]],
                "unsupported_by_format": dict(sorted(self.unsupported.items()))}


def _needs(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DataError(None, None, f"reading this format needs {package} ({_EXTRA})") from None


def _html_title(html: str, text: str) -> str:
    """The page's first heading, else its ``<title>`` (trafilatura's own metadata pass
    takes as long as the extraction itself)."""
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    from lxml import html as lxml_html

    try:
        return (lxml_html.fromstring(html).findtext(".//title") or "").strip()
    except (ValueError, lxml_html.etree.ParserError):
        return ""


def read_html(path: Path) -> tuple[str, str]:
    """(Markdown text, title) of an HTML page through trafilatura."""
    trafilatura = _needs("trafilatura", "trafilatura")
    html = read_text(path, "HTML file")
    text = trafilatura.extract(html, output_format="markdown", include_tables=True,
                               include_comments=False, favor_recall=True) or ""
    return text, _html_title(html, text)


def read_pdf(path: Path) -> tuple[str, str]:
    """(text of every page, title from the metadata) of a PDF through pypdf."""
    pypdf = _needs("pypdf", "pypdf")
    reader = pypdf.PdfReader(path)
    if reader.is_encrypted:
        raise DataError(None, None, "the PDF is encrypted")
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    title = reader.metadata.title if reader.metadata is not None else ""
    return "\n\n".join(p for p in pages if p), title or ""


def read_with_markitdown(path: Path) -> tuple[str, str]:
    """(Markdown, title) of an office or e-book file through markitdown."""
    markitdown = _needs("markitdown", "markitdown")
    result = markitdown.MarkItDown(enable_plugins=False).convert(str(path))
    return result.text_content or "", result.title or ""


def _read_plain(path: Path) -> tuple[str, str]:
    return read_text(path, "corpus file"), ""


def reader_for(suffix: str) -> Callable[[Path], tuple[str, str]] | None:
    """The reader of files with ``suffix`` (lower case, with the dot), if any."""
    if suffix in TEXT_SUFFIXES:
        return _read_plain
    if suffix in (".html", ".htm", ".xhtml"):
        return read_html
    if suffix == ".pdf":
        return read_pdf
    if suffix in MARKITDOWN_SUFFIXES:
        return read_with_markitdown
    return None


def _candidates(folder: Path, found: FolderRead) -> list[Path]:
    """Regular files of a known format; the others are counted (hidden ones are not read)."""
    files = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue  # .git, .DS_Store and editor files are not documents
        if p.is_dir() and reader_for(p.suffix.lower()) is None:
            continue
        if reader_for(p.suffix.lower()) is None:
            found.unsupported[p.suffix.lower() or "(none)"] += 1
            continue
        try:
            files.append(regular_file(p, "corpus file"))
        except DataError as e:
            logger.warning("%s (skipped)", e)
            found.failures.append((rel.as_posix(), e.reason))
    return files


def _read_one(folder: Path, f: Path) -> Document:
    text, title = reader_for(f.suffix.lower())(f)
    doc_id = f.relative_to(folder).with_suffix("").as_posix()
    why = bad_id(doc_id)
    if why:
        raise DataError(None, None, f"document id {doc_id!r} (from the file name) {why}")
    if not text.strip():
        raise DataError(None, None, "no text could be extracted")
    title = (title or f.stem.replace("_", " ")).strip().rstrip("¶").strip()  # Sphinx's mark
    return Document(doc_id, text.strip(), title)


def read_folder(folder: Path) -> FolderRead:
    """Read every document file under ``folder`` (see the module docstring)."""
    found = FolderRead({})
    for f in _candidates(folder, found):
        rel = f.relative_to(folder).as_posix()
        try:
            doc = _read_one(folder, f)
        except DataError as e:
            where = f"line {e.line}: " if e.line is not None else ""
            found.failures.append((rel, where + e.reason))
            continue
        except Exception as e:  # a converter's own error on a broken file  # noqa: BLE001
            found.failures.append((rel, f"{type(e).__name__}: {e}"[:300]))
            continue
        if doc.id in found.docs:
            found.failures.append((rel, f"same document id '{doc.id}' as another file"))
            continue
        found.docs[doc.id] = doc
    for rel, why in found.failures[:20]:
        logger.warning("%s: cannot read %s (%s)", folder, rel, why)
    if found.unsupported:
        logger.warning("%s: files of formats corpusfit does not read: %s", folder,
                       dict(found.unsupported))
    return found
