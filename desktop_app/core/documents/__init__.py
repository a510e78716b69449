"""Documents: checking them, extracting their text, and Markdown to safe HTML."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Search marks matched words in snippets with these private-use characters. Icon
# fonts can put them in extracted text, so stored text never holds them: that keeps
# one snippet per hit enough to find the marks.
SNIPPET_MARKS = ("\ue000", "\ue001")
_UNMARK = str.maketrans(dict.fromkeys(SNIPPET_MARKS, None))


def clean_text(text: str) -> str:
    """Text as stored and indexed."""
    return text.translate(_UNMARK)


@dataclass(frozen=True)
class TextUnit:
    """One searchable unit: a PDF page, or a Markdown section (split at headings)."""

    number: int
    label: str
    text: str
    anchor: str | None = None


@dataclass(frozen=True)
class ExtractedDocument:
    units: tuple[TextUnit, ...]
    extractor: str
    html: str | None = None

    @property
    def text_sha256(self) -> str:
        # Same hash means same extracted text: annotations need no re-anchoring.
        digest = hashlib.sha256()
        for unit in self.units:
            digest.update(unit.text.encode("utf-8"))
            digest.update(b"\f")
        return digest.hexdigest()
