"""A document's text as annotations count it, and its normalised form for matching.

Positions (TextPositionSelector) are code-point offsets into the document's
extracted text: its pages' (or Markdown sections') texts joined in order with one
"\\n" between them, so a quote never glues the last word of a page to the first of
the next. The stored text is already normalised (``core.normalise``); matching
runs on a copy without white space too, because a re-flowed PDF moves line breaks,
and it normalises the quote it looks for the same way (a quote kept from before
normalisation, or imported, can still hold "ﬀ"). An offset map leads every
character of the copy back to the text.
"""

from __future__ import annotations

import bisect
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from desktop_app.core.normalise import normalise as normalise_text

UNIT_SEPARATOR = "\n"
_NON_SPACE = re.compile(r"\S+")


@dataclass(frozen=True)
class Unit:
    """One page or section: its index, label (page label or heading) and anchor."""

    number: int
    label: str
    anchor: str | None


class DocumentText:
    """The joined text of one document version, and where each unit starts in it."""

    def __init__(self, texts: Sequence[str], units: Sequence[Unit], sha256: str = "") -> None:
        self.text = UNIT_SEPARATOR.join(texts)
        self.units = tuple(units)
        self.sha256 = sha256
        starts, offset = [], 0
        for text in texts:
            starts.append(offset)
            offset += len(text) + len(UNIT_SEPARATOR)
        self.starts = starts

    def unit_at(self, offset: int) -> int:
        """Index of the unit holding ``offset`` (the last unit for the end of the text)."""
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def unit_text(self, index: int) -> str:
        end = self.starts[index + 1] - len(UNIT_SEPARATOR) if index + 1 < len(self.starts) \
            else len(self.text)
        return self.text[self.starts[index]:end]

    @cached_property
    def normalised(self) -> Normalised:
        return normalise(self.text)


@dataclass(frozen=True)
class Normalised:
    """Normalised text and, per character, the raw offset it came from."""

    text: str
    raw: list[int]
    raw_length: int
    # Characters composed from a letter and its accents: the raw offset after them.
    raw_ends: dict[int, int] = field(default_factory=dict)

    def to_norm(self, raw_offset: int) -> int:
        """The first normalised character at or after ``raw_offset``."""
        return bisect.bisect_left(self.raw, raw_offset)

    def to_raw(self, start: int, end: int) -> tuple[int, int]:
        """Raw [start, end) covering the normalised span [start, end)."""
        if start >= len(self.raw):
            return self.raw_length, self.raw_length
        raw_end = self.raw_ends.get(end - 1, self.raw[end - 1] + 1) if end > start \
            else self.raw[start]
        return self.raw[start], raw_end


def normalise(text: str) -> Normalised:
    """The text as ``core.normalise`` makes it, without white space, for matching."""
    core = normalise_text(text)
    pieces: list[str] = []
    raw: list[int] = []
    ends: dict[int, int] = {}
    for match in _NON_SPACE.finditer(core.text):
        for index in core.composed.keys() & range(match.start(), match.end()):
            ends[len(raw) + index - match.start()] = core.composed[index]
        pieces.append(match.group())
        raw.extend(core.origin[match.start():match.end()])
    return Normalised("".join(pieces), raw, len(text), ends)


def normalise_plain(text: str) -> str:
    """The normalised form of a short string (a quote or its context)."""
    return normalise(text).text


def document_text(conn: sqlite3.Connection, document_id: int) -> DocumentText:
    """The stored text of one document (a row of ``documents``)."""
    row = conn.execute(
        "SELECT text_sha256 FROM documents WHERE id = ?", (document_id,)
    ).fetchone()
    rows = conn.execute(
        "SELECT number, label, anchor, text FROM pages WHERE document_id = ? ORDER BY number",
        (document_id,),
    ).fetchall()
    return DocumentText(
        [r["text"] for r in rows],
        [Unit(r["number"], r["label"], r["anchor"]) for r in rows],
        row["text_sha256"] if row else "",
    )
