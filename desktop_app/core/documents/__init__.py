"""Documents: checking them, extracting their text, and Markdown to safe HTML."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


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
