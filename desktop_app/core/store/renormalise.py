"""Schema 4: the stored text of every document brought to ``core.normalise``, in place.

Libraries made before schema 4 store PyMuPDF's text as extracted: "staﬀ", "oﬃcer",
words broken across lines. Normalisation is a function of that text alone (the
normaliser reads nothing but the characters), so the store's own text is all this
needs: no PDF is opened again, and the result equals a fresh install (a test checks).

In one transaction with the version bump:
- every page's text is normalised; the full-text rows of active versions are
  replaced (both indexes are external-content tables, so a row is removed with its
  old text);
- each document's text hash and extractor name follow;
- every note's offsets are carried to the new text through the offset map, and its
  quote and context are taken from the new text at those offsets; its page and
  rectangles stay, since the glyphs did not move. Notes of versions no longer stored
  (or orphaned) keep their positions and get their quote normalised, which is what
  re-anchoring matches on. Their history rows are carried the same way.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from desktop_app.core.annotations.model import CONTEXT_LENGTH
from desktop_app.core.normalise import NORMALISATION, normal, normalise

Progress = Callable[[int, int], None]  # (documents done, documents in all)
_FULL_TEXT_INDEXES = ("pages_fts", "pages_words")
_SEPARATOR = "\n"  # between units in the joined text offsets count in (annotations.text)


@dataclass
class _DocumentMap:
    """How offsets in a document's old joined text move into its new joined text."""

    old_starts: list[int]
    new_starts: list[int]
    origins: list[Any]  # per unit, the NormalText origin array
    new_text: str

    def carry(self, offset: int) -> int:
        unit = max(0, bisect.bisect_right(self.old_starts, offset) - 1)
        within = offset - self.old_starts[unit]
        return self.new_starts[unit] + bisect.bisect_left(self.origins[unit], within)


def renormalise_store(conn: sqlite3.Connection, progress: Progress | None = None) -> None:
    """Run inside the migration's transaction."""
    documents = conn.execute(
        "SELECT d.id, d.pack_id, d.doc_id, d.pack_version, d.media_type, d.extractor, "
        "coalesce(p.active, 0) AS active FROM documents d "
        "LEFT JOIN packs p ON p.pack_id = d.pack_id AND p.version = d.pack_version"
    ).fetchall()
    for done, row in enumerate(documents, 1):
        mapping = _renormalise_document(conn, row)
        if mapping is not None:
            _carry_annotations(conn, row["pack_id"], row["doc_id"], row["pack_version"],
                               mapping)
        if progress is not None:
            progress(done, len(documents))
    _normalise_unplaced_quotes(conn)


def _renormalise_document(conn: sqlite3.Connection, row: sqlite3.Row) -> _DocumentMap | None:
    printed = row["media_type"] == "application/pdf"
    pages = conn.execute("SELECT id, text FROM pages WHERE document_id = ? ORDER BY number",
                         (row["id"],)).fetchall()
    old_starts, new_starts, origins, texts = [], [], [], []
    old_at = new_at = 0
    changed = []
    for page in pages:
        norm = normalise(page["text"], join_hyphenated=printed)
        old_starts.append(old_at)
        new_starts.append(new_at)
        origins.append(norm.origin)
        texts.append(norm.text)
        old_at += len(page["text"]) + len(_SEPARATOR)
        new_at += len(norm.text) + len(_SEPARATOR)
        if norm.text != page["text"]:
            changed.append((page["id"], page["text"], norm.text))
    for page_id, old, new in changed:
        if row["active"]:
            for index in _FULL_TEXT_INDEXES:
                conn.execute(f"INSERT INTO {index} ({index}, rowid, text) "
                             "VALUES ('delete', ?, ?)", (page_id, old))
        conn.execute("UPDATE pages SET text = ? WHERE id = ?", (new, page_id))
        if row["active"]:
            for index in _FULL_TEXT_INDEXES:
                conn.execute(f"INSERT INTO {index} (rowid, text) VALUES (?, ?)", (page_id, new))
    conn.execute("UPDATE documents SET text_sha256 = ?, extractor = ? WHERE id = ?",
                 (_text_sha256(texts), _extractor(row["extractor"]), row["id"]))
    if not changed:
        return None
    return _DocumentMap(old_starts, new_starts, origins, _SEPARATOR.join(texts))


def _text_sha256(texts: list[str]) -> str:
    # As ExtractedDocument.text_sha256: same hash, same text, no re-anchoring needed.
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\f")
    return digest.hexdigest()


def _extractor(name: str) -> str:
    return name if name.endswith(f"+{NORMALISATION}") else f"{name}+{NORMALISATION}"


def _carry_annotations(conn: sqlite3.Connection, pack_id: str, doc_id: str, version: str,
                       mapping: _DocumentMap) -> None:
    sha, extractor = conn.execute(
        "SELECT text_sha256, extractor FROM documents WHERE pack_id = ? AND doc_id = ? "
        "AND pack_version = ?", (pack_id, doc_id, version)).fetchone()
    for note in conn.execute(
            "SELECT uuid, selectors FROM annotations WHERE pack_id = ? AND doc_id = ? "
            "AND doc_version = ?", (pack_id, doc_id, version)).fetchall():
        selectors, start = _carried(json.loads(note["selectors"]), mapping)
        quote = _quote_of(selectors)
        conn.execute(
            "UPDATE annotations SET selectors = ?, quote = ?, text_start = coalesce(?, "
            "text_start), extractor = ?, text_sha256 = ? WHERE uuid = ?",
            (json.dumps(selectors), quote, start, extractor, sha, note["uuid"]))
    for past in conn.execute(
            "SELECT h.uuid, h.selectors FROM annotation_history h JOIN annotations a "
            "ON a.uuid = h.uuid WHERE a.pack_id = ? AND a.doc_id = ? AND h.doc_version = ?",
            (pack_id, doc_id, version)).fetchall():
        selectors, _ = _carried(json.loads(past["selectors"]), mapping)
        conn.execute("UPDATE annotation_history SET selectors = ?, extractor = ?, "
                     "text_sha256 = ? WHERE uuid = ? AND doc_version = ?",
                     (json.dumps(selectors), extractor, sha, past["uuid"], version))


def _carried(selectors: list[dict[str, Any]],
             mapping: _DocumentMap) -> tuple[list[dict[str, Any]], int | None]:
    position = next((s for s in selectors if s.get("type") == "TextPositionSelector"), None)
    if position is None:
        return [_normalised_quote(s) for s in selectors], None
    start, end = mapping.carry(position["start"]), mapping.carry(position["end"])
    text = mapping.new_text
    out = []
    for selector in selectors:
        if selector is position:
            selector = {**selector, "start": start, "end": end}
        elif selector.get("type") == "TextQuoteSelector":
            selector = {**selector, "exact": text[start:end],
                        "prefix": text[max(0, start - CONTEXT_LENGTH):start],
                        "suffix": text[end:end + CONTEXT_LENGTH]}
        out.append(selector)
    return out, start


def _normalised_quote(selector: dict[str, Any]) -> dict[str, Any]:
    if selector.get("type") != "TextQuoteSelector":
        return selector
    return {**selector, **{key: normal(selector.get(key, ""))
                           for key in ("exact", "prefix", "suffix")}}


def _quote_of(selectors: list[dict[str, Any]]) -> str:
    quote = next((s for s in selectors if s.get("type") == "TextQuoteSelector"), {})
    return str(quote.get("exact", ""))


def _normalise_unplaced_quotes(conn: sqlite3.Connection) -> None:
    """Notes whose document version is no longer stored: quotes normalised, so that
    re-anchoring (which matches normalised text) finds them on the new text."""
    for note in conn.execute(
            "SELECT a.uuid, a.selectors, a.quote FROM annotations a WHERE NOT EXISTS "
            "(SELECT 1 FROM documents d WHERE d.pack_id = a.pack_id AND d.doc_id = a.doc_id "
            "AND d.pack_version = a.doc_version)").fetchall():
        selectors = [_normalised_quote(s) for s in json.loads(note["selectors"])]
        if normal(note["quote"]) != note["quote"]:
            conn.execute("UPDATE annotations SET selectors = ?, quote = ? WHERE uuid = ?",
                         (json.dumps(selectors), normal(note["quote"]), note["uuid"]))
