"""One page's text with a box per character, and the geometry selection needs on it.

``text`` is the page text as stored (``page.get_text("text")`` normalised, see
``core.documents.pdf_chars``): offsets into it are the offsets annotations use for that
page. Every character has a box in PDF points (top-left origin); the "\\n" ending each
line has a zero-width box at the line's end. No Qt and no PyMuPDF here: the view and
the worker both use this module.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from desktop_app.render.model import Rect

_APOSTROPHES = "'’"


def encode_boxes(boxes: list[Rect]) -> bytes:
    """Boxes as raw float32s for the worker's reply payload (not JSON: a dense page has
    thousands of them)."""
    return array("f", [v for box in boxes for v in box]).tobytes()


def decode_boxes(payload: bytes) -> list[Rect]:
    values = array("f")
    values.frombytes(payload[: len(payload) // 16 * 16])
    return [(values[i], values[i + 1], values[i + 2], values[i + 3])
            for i in range(0, len(values), 4)]


@dataclass(frozen=True)
class Line:
    start: int  # offset of its first character
    end: int  # offset after its last character (its "\n" not included)
    box: Rect  # union of its characters' boxes


@dataclass(frozen=True)
class PdfSelection:
    """Selected text on one page: ``text == page text[start:end]``; ``rects`` are one per
    line, in PDF points."""

    page: int
    start: int
    end: int
    text: str
    rects: tuple[Rect, ...] = field(default=())


@dataclass(frozen=True, eq=False)
class PageText:
    text: str
    boxes: tuple[Rect, ...]
    exact: bool = True  # False: the boxes were aligned to the text, some may be empty
    # Offsets where a printed line starts with no "\n" before it: a word hyphenated
    # across two lines is one word in the text, but its halves are on two lines.
    breaks: tuple[int, ...] = ()

    @classmethod
    def empty(cls) -> PageText:
        return cls("", (), False)

    @cached_property
    def lines(self) -> tuple[Line, ...]:
        """The page's lines in reading order; lines with no visible character are left
        out (nothing to point at)."""
        lines, start = [], 0
        soft = set(self.breaks)
        for index, char in enumerate(self.text + "\n"):
            if char != "\n" and index not in soft:
                continue
            box = _union(b for b in self.boxes[start:index] if _visible(b))
            if box is not None:
                lines.append(Line(start, index, box))
            start = index + 1 if char == "\n" else index
        return tuple(lines)

    # -- pointing -----------------------------------------------------------------------

    def line_at(self, x: float, y: float, slack: float = 0.0) -> Line | None:
        """The line whose box holds the point (grown by ``slack`` points), if any."""
        for line in self.lines:
            x0, y0, x1, y1 = line.box
            if x0 - slack <= x <= x1 + slack and y0 - slack <= y <= y1 + slack:
                return line
        return None

    def nearest_line(self, x: float, y: float) -> Line | None:
        """The line closest to the point; vertical distance counts double, so a point in
        the margin beside a line picks that line, not the one above or below."""
        best, best_score = None, float("inf")
        for line in self.lines:
            x0, y0, x1, y1 = line.box
            dx = max(x0 - x, 0.0, x - x1)
            dy = max(y0 - y, 0.0, y - y1)
            score = 2 * dy + dx
            if score < best_score:
                best, best_score = line, score
        return best

    def position_at(self, x: float, y: float) -> int:
        """The caret position (0..len(text)) nearest to a point: before the character
        whose left half holds it, after one whose right half does. Above or below the
        nearest line by more than its height: that line's start or end."""
        line = self.nearest_line(x, y)
        if line is None:
            return 0
        _, y0, _, y1 = line.box
        height = max(1.0, y1 - y0)
        if y < y0 - height:
            return line.start
        if y > y1 + height:
            return line.end
        position = line.start
        for index in range(line.start, line.end):
            bx0, _, bx1, _ = self.boxes[index]
            if not _visible(self.boxes[index]):
                continue
            if x < (bx0 + bx1) / 2:
                return index
            position = index + 1
        return max(position, line.start)

    def char_at(self, x: float, y: float) -> int | None:
        """The character under a point (or, between glyphs of a line, the nearest one)."""
        line = self.line_at(x, y)
        if line is None:
            return None
        best, best_dx = None, float("inf")
        for index in range(line.start, line.end):
            bx0, _, bx1, _ = self.boxes[index]
            dx = max(bx0 - x, 0.0, x - bx1)
            if _visible(self.boxes[index]) and dx < best_dx:
                best, best_dx = index, dx
        return best

    # -- ranges -------------------------------------------------------------------------

    def word_range(self, index: int) -> tuple[int, int]:
        """The word around character ``index``; a character that is not part of a word
        (a space, a comma) is a range of its own."""
        text = self.text
        if not 0 <= index < len(text):
            return index, index
        if not _is_word_char(text[index]):
            return index, index + 1
        start, end = index, index + 1
        while start > 0 and _is_word_char(text[start - 1]):
            start -= 1
        while end < len(text) and _is_word_char(text[end]):
            end += 1
        # An apostrophe belongs inside a word ("council's"), not at its edges.
        while end - start > 1 and text[start] in _APOSTROPHES:
            start += 1
        while end - start > 1 and text[end - 1] in _APOSTROPHES:
            end -= 1
        return start, end

    def line_range(self, index: int) -> tuple[int, int]:
        for line in self.lines:
            if line.start <= index <= line.end:
                return line.start, line.end
        return index, index

    def rects(self, start: int, end: int) -> list[Rect]:
        """One rectangle per line covering text[start:end], in points."""
        out = []
        for line in self.lines:
            lo, hi = max(start, line.start), min(end, line.end)
            if lo >= hi:
                continue
            box = _union(b for b in self.boxes[lo:hi] if _visible(b))
            if box is not None:
                out.append(box)
        return out

    def range_in(self, rect: Rect) -> tuple[int, int] | None:
        """From the first to the last character whose centre is inside ``rect``."""
        x0, y0, x1, y1 = rect
        inside = [i for i, (bx0, by0, bx1, by1) in enumerate(self.boxes)
                  if bx1 > bx0 and x0 <= (bx0 + bx1) / 2 <= x1 and y0 <= (by0 + by1) / 2 <= y1]
        return (inside[0], inside[-1] + 1) if inside else None

    def selection(self, page: int, start: int, end: int) -> PdfSelection:
        start, end = sorted((max(0, min(start, len(self.text))),
                             max(0, min(end, len(self.text)))))
        return PdfSelection(page, start, end, self.text[start:end],
                            tuple(self.rects(start, end)))


def _visible(box: Rect) -> bool:
    return box[2] > box[0] and box[3] > box[1]


def _union(boxes: Iterable[Rect]) -> Rect | None:
    result: list[float] | None = None
    for x0, y0, x1, y1 in boxes:
        if result is None:
            result = [x0, y0, x1, y1]
        else:
            result = [min(result[0], x0), min(result[1], y0),
                      max(result[2], x1), max(result[3], y1)]
    return None if result is None else (result[0], result[1], result[2], result[3])


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_" or char in _APOSTROPHES
