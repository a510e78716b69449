"""Highlight rectangles on a PDF page for a span of its stored text.

The page text Casebook stores is PyMuPDF's ``get_text("text")`` normalised
(``core.normalise``); ``documents.pdf_chars`` gives every character of it a box and
says where its printed lines break. A page whose text no longer rebuilds that way
(another extractor) gets no rectangles rather than wrong ones: the quote still
anchors, the view can search for it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from desktop_app.core.documents.pdf import open_pdf
from desktop_app.core.documents.pdf_chars import extract_chars, normalised_chars

log = logging.getLogger(__name__)
Box = tuple[float, float, float, float]
_CACHED_PAGES = 8


class PdfGeometry:
    """One open PDF; character boxes of the last few pages used are kept."""

    def __init__(self, data: bytes, name: str = "document") -> None:
        self._doc = open_pdf(data, name)
        self._pages: OrderedDict[int, tuple[str, list[Box], frozenset[int]]] = OrderedDict()

    def close(self) -> None:
        self._doc.close()

    def __enter__(self) -> PdfGeometry:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def rects(self, page: int, page_text: str, start: int, end: int) -> list[list[float]]:
        """One rectangle per printed line covering page_text[start:end], in page points."""
        text, boxes, breaks = self._chars(page)
        if text != page_text:
            log.info("Page %d text differs from the stored text; no highlight rectangles", page)
            return []
        lines: list[list[float]] = []
        new_line = True
        for offset in range(start, min(end, len(boxes))):
            if text[offset] == "\n":
                new_line = True
                continue
            if offset in breaks:  # the second half of a word hyphenated across lines
                new_line = True
            x0, y0, x1, y1 = boxes[offset]
            if x1 <= x0 or y1 <= y0:
                continue
            if new_line or not lines:
                lines.append([x0, y0, x1, y1])
                new_line = False
            else:
                last = lines[-1]
                last[:] = [min(last[0], x0), min(last[1], y0), max(last[2], x1), max(last[3], y1)]
        return [[round(v, 2) for v in rect] for rect in lines]

    def _chars(self, page: int) -> tuple[str, list[Box], frozenset[int]]:
        if page in self._pages:
            self._pages.move_to_end(page)
            return self._pages[page]
        raw, raw_boxes, _exact = extract_chars(self._doc[page])
        text, boxes, breaks = normalised_chars(raw, raw_boxes)
        entry = (text, boxes, frozenset(breaks))
        self._pages[page] = entry
        if len(self._pages) > _CACHED_PAGES:
            self._pages.popitem(last=False)
        return entry
