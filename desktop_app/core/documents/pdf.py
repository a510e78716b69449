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
    """Open PDF bytes, refusing anything that is not a PDF a reader could show.

    Every MuPDF error, at open or while counting pages, becomes a DocumentError in
    words. A file without a ``%PDF-`` header in its first kilobyte (junk before it, or
    ``%PDF`` with no version) is accepted when MuPDF reads it as a PDF and can draw
    its first page: :func:`repair_note` then says so.
    """
    pymupdf = _mupdf()
    has_header = _has_header(data)
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # MuPDF raises several types for broken files
        if not has_header:
            raise DocumentError(f"{name} is not a PDF (it has no %PDF- header).") from None
        raise DocumentError(f"{name} is a PDF that cannot be opened ({plain_words(exc)}).") \
            from None
    try:
        _check_opened(doc, name, has_header)
    except DocumentError:
        doc.close()
        raise
    except Exception as exc:
        doc.close()
        raise DocumentError(f"{name} is a PDF that cannot be read ({plain_words(exc)}).") \
            from None
    return doc


def _has_header(data: bytes) -> bool:
    return b"%PDF-" in data[:1024]


def _check_opened(doc: pymupdf.Document, name: str, has_header: bool) -> None:
    # MuPDF sniffs content whatever filetype says: HTML or an image named guide.pdf
    # opens as what it really is, and is no PDF.
    if not doc.is_pdf:
        raise DocumentError(f"{name} is not a PDF (it has no %PDF- header).")
    if doc.needs_pass:
        raise DocumentError(f"{name} is an encrypted PDF that needs a password.")
    try:
        count = doc.page_count
    except Exception as exc:  # RuntimeError for a /Count MuPDF cannot use
        raise DocumentError(f"{name} is a PDF whose pages cannot be counted "
                            f"({plain_words(exc)}).") from None
    if count == 0:
        raise DocumentError(f"{name} is a PDF with no pages.")
    if count > MAX_PAGES:
        raise DocumentError(f"{name} has {count:,} pages; the limit is {MAX_PAGES:,}.")
    if not has_header:
        try:
            doc.load_page(0).get_pixmap(matrix=_mupdf().Matrix(0.05, 0.05))
        except Exception:
            raise DocumentError(f"{name} is not a PDF (it has no %PDF- header, and its first "
                                "page cannot be drawn).") from None


def repair_note(doc: pymupdf.Document, data: bytes, name: str) -> str | None:
    """A sentence for the reader when MuPDF had to repair the file to open it."""
    if _has_header(data) and not doc.is_repaired:
        return None
    return (f"{name} is damaged (a missing or misplaced %PDF- header, or a broken "
            "cross-reference table) and was repaired to open it; if pages look wrong, "
            "ask the publisher for a new copy.")


# MuPDF's messages for the damage readers meet, in words; others are passed on.
_PLAIN = {
    "cycle in page tree": "its page tree loops back on itself",
    "invalid number of pages": "its page count is not a usable number",
    "page not in document": "the page is missing from the file",
}


def plain_words(exc: BaseException) -> str:
    """MuPDF's error as a reader can take it (without its "code=7:" prefix)."""
    text = str(exc).split(": ", 1)[-1] if str(exc).startswith("code=") else str(exc)
    for words, plain in _PLAIN.items():
        if words in text.lower():
            return plain
    return f"MuPDF says: {text or type(exc).__name__}"


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
    """Each page's text. A page MuPDF cannot load or read is kept, empty, with its
    reason (``TextUnit.problem``): one bad page does not cost the reader the others."""
    doc = open_pdf(data, name)
    try:
        count = doc.page_count
        try:
            labels = page_labels(doc)
        except Exception:  # a broken label tree: the pages still have their numbers
            labels = [str(number + 1) for number in range(count)]
        units = [_page_unit(doc, number, labels[number]) for number in range(count)]
        notes = [note for note in [repair_note(doc, data, name)] if note]
    finally:
        doc.close()
    bad = [unit for unit in units if unit.problem]
    if len(bad) == len(units):
        raise DocumentError(f"{name}: none of its {count:,} pages can be read "
                            f"({bad[0].problem}).")
    if bad:
        shown = ", ".join(unit.label for unit in bad[:10]) + (", …" if len(bad) > 10 else "")
        notes.append(f"{name}: {len(bad):,} of {count:,} pages cannot be read and are not "
                     f"searched (page {shown}); the others were imported.")
    return ExtractedDocument(tuple(units), extractor_name(), notes=tuple(notes))


def _page_unit(doc: pymupdf.Document, number: int, label: str) -> TextUnit:
    try:
        text = doc.load_page(number).get_text("text")
    except Exception as exc:  # a cycle in the page tree, a broken content stream...
        return TextUnit(number, label, "", problem=f"Page {label} cannot be read "
                                                  f"({plain_words(exc)}).")
    return TextUnit(number, label, clean_text(text))
