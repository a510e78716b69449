"""Highlight rectangles on a PDF page for a span of its extracted text.

The page text Casebook stores is PyMuPDF's ``get_text("text")``, which is the
characters of ``get_text("rawdict")`` with a line break after each line; so the
rawdict gives every character of the stored text its box. A page whose text no
longer rebuilds that way (another extractor) gets no rectangles rather than wrong
ones: the quote still anchors, the view can search for it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from desktop_app.core.documents import SNIPPET_MARKS
from desktop_app.core.documents.pdf import open_pdf

log = logging.getLogger(__name__)
Box = tuple[float, float, float, float]
_CACHED_PAGES = 8


class PdfGeometry:
    """One open PDF; character boxes of the last few pages used are kept."""

    def __init__(self, data: bytes, name: str = "document") -> None:
        self._doc = open_pdf(data, name)
        import pymupdf  # already loaded by open_pdf

        # The flags of get_text("text"), which made the stored text: the same
        # characters, and no image blocks (with their pixels) decoded for nothing.
        self._flags = pymupdf.TEXTFLAGS_TEXT
        self._pages: OrderedDict[int, tuple[str, list[Box | None]]] = OrderedDict()

    def close(self) -> None:
        self._doc.close()

    def __enter__(self) -> PdfGeometry:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def rects(self, page: int, page_text: str, start: int, end: int) -> list[list[float]]:
        """One rectangle per line covering page_text[start:end], in page points."""
        text, boxes = self._chars(page)
        if text != page_text:
            log.info("Page %d text differs from the stored text; no highlight rectangles", page)
            return []
        lines: list[list[float]] = []
        new_line = True
        for offset in range(start, min(end, len(boxes))):
            box = boxes[offset]
            if box is None:  # the line break
                new_line = True
                continue
            x0, y0, x1, y1 = box
            if x1 <= x0 or y1 <= y0:
                continue
            if new_line or not lines:
                lines.append([x0, y0, x1, y1])
                new_line = False
            else:
                last = lines[-1]
                last[:] = [min(last[0], x0), min(last[1], y0), max(last[2], x1), max(last[3], y1)]
        return [[round(v, 2) for v in rect] for rect in lines]

    def _chars(self, page: int) -> tuple[str, list[Box | None]]:
        if page in self._pages:
            self._pages.move_to_end(page)
            return self._pages[page]
        chars: list[str] = []
        boxes: list[Box | None] = []
        raw = self._doc[page].get_text("rawdict", flags=self._flags)
        for block in raw["blocks"]:
            if block.get("type") != 0:
                continue
            for line in block["lines"]:
                for span in line["spans"]:
                    for char in span["chars"]:
                        if char["c"] in SNIPPET_MARKS:  # removed from stored text too
                            continue
                        chars.append(char["c"])
                        boxes.append(tuple(char["bbox"]))
                chars.append("\n")
                boxes.append(None)
        entry = ("".join(chars), boxes)
        self._pages[page] = entry
        if len(self._pages) > _CACHED_PAGES:
            self._pages.popitem(last=False)
        return entry
