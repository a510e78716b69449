"""PDF checks and text extraction with PyMuPDF, one text unit per page."""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

from desktop_app.core.documents import NORMALISATION, ExtractedDocument, TextUnit, clean_text
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
    return f"pymupdf-{_mupdf().VersionBind}/text+{NORMALISATION}"


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


def page_labels(doc: pymupdf.Document) -> list[str]:
    """Every page's printed label ("iv", "12", "A-3"), or its number where it has none.

    Computed from the label rules once: ``page.get_label()`` re-reads the whole label
    tree on every call (90 ms over 2,400 pages).
    """
    rules = sorted(doc.get_page_labels(), key=lambda rule: rule["startpage"])
    labels = [str(number + 1) for number in range(doc.page_count)]
    for index, rule in enumerate(rules):
        start = rule["startpage"]
        stop = rules[index + 1]["startpage"] if index + 1 < len(rules) else doc.page_count
        first = rule.get("firstpagenum", 1)
        for page in range(max(start, 0), min(stop, doc.page_count)):
            label = rule.get("prefix", "") + _styled(first + page - start, rule.get("style", ""))
            labels[page] = label or str(page + 1)
    return labels


def _styled(number: int, style: str) -> str:
    if style == "D":
        return str(number)
    if style in ("r", "R"):
        roman = _roman(number)
        return roman if style == "R" else roman.lower()
    if style in ("a", "A"):
        # PDF 32000 12.4.2: A..Z, then AA..ZZ, AAA..
        letter = chr(ord("A") + (number - 1) % 26) * ((number - 1) // 26 + 1)
        return letter if style == "A" else letter.lower()
    return ""


def _roman(number: int) -> str:
    values = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
              (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = []
    for value, numeral in values:
        count, number = divmod(number, value)
        out.append(numeral * count)
    return "".join(out)


def extract_pdf(data: bytes, name: str) -> ExtractedDocument:
    doc = open_pdf(data, name)
    try:
        labels = page_labels(doc)
        units = []
        for page in doc:
            try:
                text = page.get_text("text")
            except Exception as exc:
                raise DocumentError(
                    f"{name}: page {page.number + 1} cannot be read ({exc})."
                ) from None
            units.append(TextUnit(page.number, labels[page.number], clean_text(text)))
    finally:
        doc.close()
    return ExtractedDocument(tuple(units), extractor_name())
