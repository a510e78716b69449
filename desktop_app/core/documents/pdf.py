"""PDF checks and text extraction with PyMuPDF, one text unit per page."""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

from desktop_app.core.documents import ExtractedDocument, TextUnit, clean_text
from desktop_app.core.errors import DocumentError

if TYPE_CHECKING:
    import pymupdf

MAX_PAGES = 50_000


@cache
def _mupdf() -> ModuleType:
    """PyMuPDF, imported on first use: it costs ~80 ms, and the window's process
    never opens a PDF itself (its render worker does)."""
    import pymupdf

    # MuPDF prints repair warnings on stderr; they mean nothing to a reader.
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    return pymupdf


def extractor_name() -> str:
    return f"pymupdf-{_mupdf().VersionBind}/text"


def open_pdf(data: bytes, name: str) -> pymupdf.Document:
    """Open PDF bytes, refusing anything that is not a PDF a reader could show."""
    pymupdf = _mupdf()
    # MuPDF sniffs content and would open HTML or an image named guide.pdf as
    # what it really is: insist on the PDF header ourselves.
    if b"%PDF-" not in data[:1024]:
        raise DocumentError(f"{name} is not a PDF (it has no %PDF- header).")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # MuPDF raises several types for broken files
        raise DocumentError(f"{name} is a PDF that cannot be opened ({exc}).") from None
    if doc.needs_pass:
        doc.close()
        raise DocumentError(f"{name} is an encrypted PDF that needs a password.")
    if doc.page_count == 0:
        doc.close()
        raise DocumentError(f"{name} is a PDF with no pages.")
    if doc.page_count > MAX_PAGES:
        count = doc.page_count
        doc.close()
        raise DocumentError(f"{name} has {count:,} pages; the limit is {MAX_PAGES:,}.")
    return doc


def extract_pdf(data: bytes, name: str) -> ExtractedDocument:
    doc = open_pdf(data, name)
    try:
        labelled = bool(doc.get_page_labels())
        units = []
        for page in doc:
            try:
                text = page.get_text("text")
            except Exception as exc:
                raise DocumentError(
                    f"{name}: page {page.number + 1} cannot be read ({exc})."
                ) from None
            label = (page.get_label() if labelled else "") or str(page.number + 1)
            units.append(TextUnit(page.number, label, clean_text(text)))
    finally:
        doc.close()
    return ExtractedDocument(tuple(units), extractor_name())
