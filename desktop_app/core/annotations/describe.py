"""Selectors for a span of a document's text, made when an annotation is created
and again after it is re-anchored on a new version."""

from __future__ import annotations

import sqlite3
import unicodedata
from typing import Any

from desktop_app.core.annotations.geometry import PdfGeometry
from desktop_app.core.annotations.model import (
    CONTEXT_LENGTH,
    FRAGMENT_CONFORMS_TO,
    QuoteNotFoundError,
)
from desktop_app.core.annotations.text import DocumentText, document_text, normalise_plain
from desktop_app.core.library import DocumentRecord, document_bytes
from desktop_app.core.normalise import is_blank


def describe_span(
    text: DocumentText, start: int, end: int, *, geometry: PdfGeometry | None = None
) -> tuple[dict[str, Any], ...]:
    """Selectors for text.text[start:end]; ``geometry`` (for a PDF) adds page and rects."""
    start, end = trim(text.text, start, end)
    selectors: list[dict[str, Any]] = [
        {"type": "TextQuoteSelector", "exact": text.text[start:end],
         "prefix": text.text[max(0, start - CONTEXT_LENGTH):start],
         "suffix": text.text[end:end + CONTEXT_LENGTH]},
        {"type": "TextPositionSelector", "start": start, "end": end},
    ]
    first = text.unit_at(start)
    unit = text.units[first] if text.units else None
    if geometry is not None:
        selectors.append({"type": "PageSelector", "index": first,
                          "label": unit.label if unit else str(first + 1)})
        rects = []
        for index in range(first, text.unit_at(max(start, end - 1)) + 1):
            unit_start = text.starts[index]
            page_text = text.unit_text(index)
            for rect in geometry.rects(index, page_text, max(0, start - unit_start),
                                       min(len(page_text), end - unit_start)):
                rects.append({"page": index, "rect": rect})
        selectors.append({"type": "PdfRectsSelector", "rects": rects})
    elif unit is not None:
        selectors.append({"type": "FragmentSelector", "conformsTo": FRAGMENT_CONFORMS_TO,
                          "value": unit.anchor or "", "title": unit.label, "index": first})
    return tuple(selectors)


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without leading or trailing whitespace (a selection often ends on a break),
    and never between a letter and the accents that follow it: matching composes them
    into one character (``core.normalise``), so half of one could never be found again."""
    start, end = max(0, start), min(len(text), end)
    while start < end and is_blank(text[start]):
        start += 1
    while end > start and is_blank(text[end - 1]):
        end -= 1
    while 0 < start < end and unicodedata.combining(text[start]):
        start -= 1
    while start < end < len(text) and unicodedata.combining(text[end]):
        end += 1
    return start, end


def describe_quote(
    conn: sqlite3.Connection, record: DocumentRecord, start: int, end: int,
    text: DocumentText | None = None,
    geometry: PdfGeometry | None = None,
) -> tuple[dict[str, Any], ...]:
    """Selectors for [start, end) of a stored document's text (PDF rects included).

    ``text`` and ``geometry`` may be passed by a caller annotating many passages of
    one document, so it is loaded and opened once."""
    text = text or document_text(conn, record.id)
    if not 0 <= start < end <= len(text.text) or not text.text[start:end].strip():
        raise QuoteNotFoundError("Select some text of the document to annotate.")
    if not record.is_pdf:
        return describe_span(text, start, end)
    if geometry is not None:
        return describe_span(text, start, end, geometry=geometry)
    with PdfGeometry(document_bytes(conn, record), record.title) as geometry:
        return describe_span(text, start, end, geometry=geometry)


def find_quote(text: DocumentText, quote: str, nth: int = 0) -> tuple[int, int] | None:
    """Raw [start, end) of the nth occurrence of ``quote``, ignoring whitespace and
    compatibility forms (a quote typed with spaces matches text broken over lines)."""
    wanted = normalise_plain(quote)
    if not wanted:
        return None
    norm = text.normalised
    at = norm.text.find(wanted)
    for _ in range(nth):
        if at == -1:
            break
        at = norm.text.find(wanted, at + 1)
    if at == -1:
        return None
    return norm.to_raw(at, at + len(wanted))
