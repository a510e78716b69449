"""Documents: checking them, extracting their text, and Markdown to safe HTML."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from desktop_app.core.normalise import NORMALISATION, SNIPPET_MARKS, normal

__all__ = ["NORMALISATION", "SNIPPET_MARKS", "ExtractedDocument", "TextUnit", "clean_text"]


def clean_text(text: str, *, printed_lines: bool = True) -> str:
    """Text as stored and indexed: normalised (``core.normalise``), without the
    private-use characters search uses as snippet marks. ``printed_lines`` says the
    line breaks are the lines of a printed page (so a hyphen at a line end breaks a
    word); Markdown's are not."""
    return normal(text, join_hyphenated=printed_lines)


@dataclass(frozen=True)
class TextUnit:
    """One searchable unit: a PDF page, or a Markdown section (split at headings)."""

    number: int
    label: str
    text: str
    anchor: str | None = None
    # Why the page could not be read (its text is then empty); None when it was read.
    problem: str | None = None


@dataclass(frozen=True)
class ExtractedDocument:
    units: tuple[TextUnit, ...]
    extractor: str
    html: str | None = None
    # Sentences for the reader about what was done to read it (a repaired file,
    # pages that could not be read).
    notes: tuple[str, ...] = ()

    @property
    def text_sha256(self) -> str:
        # Same hash means same extracted text: annotations need no re-anchoring.
        digest = hashlib.sha256()
        for unit in self.units:
            digest.update(unit.text.encode("utf-8"))
            digest.update(b"\f")
        return digest.hexdigest()
