"""A page's characters and their boxes, lined up with the page text Casebook stores.

The stored text is ``page.get_text("text")`` normalised (``core.normalise``: ligatures
expanded, words broken at a line end joined, ...). ``extract_chars`` gives the raw
characters and boxes; ``normalised_chars`` turns them into the stored text with a box
per character, splitting a ligature's box between its letters and remembering where a
joined word crossed a line.

Annotations count offsets in the text PyMuPDF's "text" mode gives, so selection must
count in the same text. That text is the characters of ``get_text("rawdict")`` (same
flags, same text page) with MuPDF's line rule applied: after each line whose last
character is not itself "\\n" (or NUL), one "\\n". Those separators get a zero-width
box at the end of their line. Both extractions drop characters outside the page's
box the same way, so the two agree on every PDF we have tried; the result is still
checked against the real "text" output, and on a mismatch (a future MuPDF, odd code
points) the real text is kept and boxes are carried over by aligning the two
(``exact`` is then False and some characters may have zero-size boxes).

Used by the render worker (selection and find) and by the core (highlight rectangles
of notes made without the window): no Qt here.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

import pymupdf

from desktop_app.core.normalise import normalise

Box = tuple[float, float, float, float]


def extract_chars(page: pymupdf.Page) -> tuple[str, list[Box], bool]:
    """(text, one box per character of text, exact), text == page.get_text("text")."""
    # One text page for both extractions: get_text("text") builds its own with these
    # flags, and the same flags make the same characters.
    textpage = page.get_textpage(flags=pymupdf.TEXTFLAGS_TEXT)
    text = textpage.extractText()
    built, boxes = _rawdict_chars(textpage.extractRAWDICT())
    if built == text:
        return text, boxes, True
    return text, _align(built, boxes, text), False


def normalised_chars(text: str, boxes: list[Box]) -> tuple[str, list[Box], list[int]]:
    """(normalised text, one box per character of it, soft line starts) from the raw
    page text and its boxes. A soft line start is an offset where a new printed line
    begins with no "\\n" before it (the break of a hyphenated word, now joined)."""
    norm = normalise(text)
    out: list[Box] = []
    breaks: list[int] = []
    origin, index = norm.origin, 0
    while index < len(origin):
        source = origin[index]
        run = index + 1
        while run < len(origin) and origin[run] == source:
            run += 1  # one glyph ("ﬃ") that became several letters
        out.extend(_split(boxes[source], run - index))
        if index and "\n" in text[origin[index - 1] + 1:source]:
            breaks.append(index)
        index = run
    return norm.text, out, breaks


def _split(box: Box, parts: int) -> list[Box]:
    if parts == 1:
        return [box]
    x0, y0, x1, y1 = box
    width = (x1 - x0) / parts
    return [(x0 + i * width, y0, x0 + (i + 1) * width, y1) for i in range(parts)]


def _rawdict_chars(raw: dict[str, Any]) -> tuple[str, list[Box]]:
    chars: list[str] = []
    boxes: list[Box] = []
    for block in raw.get("blocks", ()):
        if block.get("type") != 0:
            continue
        for line in block.get("lines", ()):
            last: str | None = None
            right = top = bottom = 0.0
            for span in line.get("spans", ()):
                for char in span.get("chars", ()):
                    x0, y0, x1, y1 = (float(v) for v in char["bbox"])
                    chars.append(char["c"])
                    boxes.append((x0, y0, x1, y1))
                    last, right, top, bottom = char["c"], x1, y0, y1
            # MuPDF's text output: a line break after a line that printed something,
            # unless it already ended in one (or in NUL, which it treats as nothing).
            if last is not None and last not in ("\n", "\x00"):
                chars.append("\n")
                boxes.append((right, top, right, bottom))
    return "".join(chars), boxes


def _align(built: str, boxes: list[Box], text: str) -> list[Box]:
    """Boxes for ``text`` from the characters of ``built`` that match it."""
    out: list[Box] = []
    matcher = SequenceMatcher(None, built, text, autojunk=False)
    for tag, b0, b1, t0, t1 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and b1 - b0 == t1 - t0):
            out.extend(boxes[b0:b1])
        elif tag in ("replace", "insert"):
            # Nothing to take a box from: a zero-size box where the text was.
            anchor = boxes[b0] if b0 < len(boxes) else (out[-1] if out else (0, 0, 0, 0))
            x, y0, _, y1 = anchor
            out.extend([(x, y0, x, y1)] * (t1 - t0))
    return out
