"""Library search over FTS5.

What the user types is never handed to FTS5 as syntax: it is parsed into words,
"quoted phrases", prefix*, OR and -exclusions, and every term is re-quoted, so no
input can raise an SQL or FTS5 error.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass

from desktop_app.core.documents import SNIPPET_MARKS
from desktop_app.core.normalise import normal

MAX_TERMS = 32
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"[^\W_]+")
_OPEN, _CLOSE = SNIPPET_MARKS
# Word forms match in the stemmed index ("residents" finds "resident"); a query with
# a prefix term runs on the unstemmed one, where "consultat*" finds "consultation".
STEMMED_INDEX, WORDS_INDEX = "pages_fts", "pages_words"
FULL_TEXT_INDEXES = (STEMMED_INDEX, WORDS_INDEX)
# The reader's notes (quote, note text, tags), indexed the same two ways.
NOTE_INDEXES = {STEMMED_INDEX: "annotations_fts", WORDS_INDEX: "annotations_words"}


@dataclass(frozen=True)
class SearchHit:
    pack_id: str
    pack_title: str
    doc_id: str
    doc_title: str
    media_type: str
    unit: int
    label: str
    anchor: str | None
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    score: float
    is_note: bool = False  # a hit in one of the reader's own notes, not in the pack text
    note_uuid: str | None = None

    @property
    def page(self) -> int | None:
        """1-based page number for a PDF hit."""
        return self.unit + 1 if self.media_type == "application/pdf" else None

    @property
    def section(self) -> str | None:
        return None if self.media_type == "application/pdf" else self.label

    def as_json(self) -> dict:
        return {
            "pack": self.pack_id, "pack_title": self.pack_title, "doc": self.doc_id,
            "doc_title": self.doc_title, "page": self.page,
            "page_label": self.label if self.page is not None else None,
            "section": self.section, "anchor": self.anchor, "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights], "score": self.score,
            "is_note": self.is_note, "note": self.note_uuid,
        }


def to_fts_query(text: str) -> str | None:
    """Translate user input to a safe FTS5 expression; None when it names nothing to find.

    Adjacent terms must all match; ``OR`` between two terms lets either match;
    a leading ``-`` excludes a term; a trailing ``*`` matches any word starting so.
    """
    # The same normalisation as the stored text: a pasted "staﬀ" finds "staff", and
    # typographic quotes around words make a phrase like straight ones.
    text = normal(text)
    groups: list[list[str]] = []
    excluded: list[str] = []
    join_next = negate_next = False
    for match in _TOKEN.finditer(text):
        minus, phrase, bare = match.groups()
        if bare is not None and phrase is None:
            if bare == "OR":
                join_next = bool(groups)
                continue
            if bare in ("AND", "&&"):
                continue
            if bare == "NOT":
                negate_next = True
                continue
            if bare.startswith("-") and len(bare) > 1:
                minus, bare = "-", bare[1:]
        term = _term(phrase if phrase is not None else bare, prefix=phrase is None)
        if term is None:
            continue
        if minus or negate_next:
            excluded.append(term)
        elif join_next and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = negate_next = False
        if len(groups) + len(excluded) >= MAX_TERMS:
            break
    if not groups:
        return None
    query = " AND ".join("(" + " OR ".join(group) + ")" for group in groups)
    if excluded:
        query += " NOT (" + " OR ".join(excluded) + ")"
    return query


def _term(text: str, *, prefix: bool) -> str | None:
    words = _WORD.findall(text)
    if not words:
        return None
    quoted = '"' + " ".join(words) + '"'
    return quoted + "*" if prefix and text.endswith("*") else quoted


# Ordering by FTS5's hidden rank column (bm25 by default) lets FTS5 pick the top
# rows itself, so the joins and snippet() run for the rows returned only; ordering by
# a bm25() alias sorts every match in a temporary table first (2-3x slower).
_SEARCH_SQL = """
SELECT k.pack_id, k.title AS pack_title, d.doc_id, d.title AS doc_title, d.media_type,
       p.number, p.label, p.anchor,
       snippet({index}, 0, '{open}', '{close}', '…', 24) AS snippet,
       {index}.rank AS rank
FROM {index}
JOIN pages p ON p.id = {index}.rowid
JOIN documents d ON d.id = p.document_id
JOIN packs k ON k.pack_id = d.pack_id AND k.version = d.pack_version
WHERE {index} MATCH :query
  AND (:pack IS NULL OR d.pack_id = :pack)
  AND (:doc IS NULL OR d.doc_id = :doc)
ORDER BY {index}.rank
LIMIT :limit
"""


def index_for(fts_query: str) -> str:
    """The index a translated query runs on: unstemmed when it has a prefix term."""
    return WORDS_INDEX if '"*' in fts_query else STEMMED_INDEX


_SEARCH_SQL_BY_INDEX = {
    index: _SEARCH_SQL.format(index=index, open=_OPEN, close=_CLOSE)
    for index in FULL_TEXT_INDEXES
}


def search(
    conn: sqlite3.Connection,
    text: str,
    *,
    pack_id: str | None = None,
    doc_id: str | None = None,
    limit: int = 20,
    include_notes: bool = False,
) -> list[SearchHit]:
    """Ranked hits across the active versions of all installed packs.

    With ``include_notes``, hits in the reader's own notes (up to ``limit`` of them)
    come first, then up to ``limit`` hits in the pack text: bm25 ranks from two
    indexes do not compare, and a reader searching for words they wrote wants those.
    """
    query = to_fts_query(text)
    if query is None:
        return []
    rows = conn.execute(
        _SEARCH_SQL_BY_INDEX[index_for(query)],
        {"query": query, "pack": pack_id, "doc": doc_id, "limit": limit},
    )
    hits = [_hit(row) for row in rows]
    if include_notes:
        hits = _note_hits(conn, query, pack_id, doc_id, limit) + hits
    return hits


# Notes are kept after their pack is removed, so packs and documents are optional here.
_NOTES_SQL = """
SELECT a.uuid, a.pack_id, coalesce(k.title, a.pack_id) AS pack_title, a.doc_id,
       coalesce(d.title, a.doc_id) AS doc_title, d.media_type, a.selectors,
       coalesce(a.unit, 0) AS number, coalesce(a.unit_label, '') AS label,
       snippet({index}, -1, '{open}', '{close}', '…', 24) AS snippet,
       {index}.rank AS rank
FROM {index}
JOIN annotations a ON a.uuid = {index}.uuid
LEFT JOIN packs k ON k.pack_id = a.pack_id AND k.active = 1
LEFT JOIN documents d ON d.pack_id = a.pack_id AND d.pack_version = k.version
                     AND d.doc_id = a.doc_id
WHERE {index} MATCH :query AND a.deleted IS NULL
  AND (:pack IS NULL OR a.pack_id = :pack)
  AND (:doc IS NULL OR a.doc_id = :doc)
ORDER BY {index}.rank
LIMIT :limit
"""
_NOTES_SQL_BY_INDEX = {
    pages: _NOTES_SQL.format(index=notes, open=_OPEN, close=_CLOSE)
    for pages, notes in NOTE_INDEXES.items()
}


def search_notes(
    conn: sqlite3.Connection,
    text: str,
    *,
    pack_id: str | None = None,
    doc_id: str | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Ranked hits in the reader's notes and highlights (their quote, text and tags)."""
    query = to_fts_query(text)
    return [] if query is None else _note_hits(conn, query, pack_id, doc_id, limit)


def _note_hits(
    conn: sqlite3.Connection, query: str, pack_id: str | None, doc_id: str | None, limit: int
) -> list[SearchHit]:
    rows = conn.execute(
        _NOTES_SQL_BY_INDEX[index_for(query)],
        {"query": query, "pack": pack_id, "doc": doc_id, "limit": limit},
    )
    hits = []
    for row in rows:
        selectors = json.loads(row["selectors"])
        kinds = {selector.get("type"): selector for selector in selectors}
        fragment = kinds.get("FragmentSelector", {})
        snippet, highlights = _split_marks(row["snippet"])
        hits.append(SearchHit(
            pack_id=row["pack_id"], pack_title=row["pack_title"], doc_id=row["doc_id"],
            doc_title=row["doc_title"],
            # The document may be gone (pack removed): its selectors still say what it was.
            media_type=row["media_type"] or (
                "application/pdf" if "PageSelector" in kinds else "text/markdown"),
            unit=row["number"], label=row["label"], anchor=fragment.get("value") or None,
            snippet=snippet, highlights=highlights, score=round(-row["rank"], 4),
            is_note=True, note_uuid=row["uuid"],
        ))
    return hits


def _hit(row: sqlite3.Row) -> SearchHit:
    snippet, highlights = _split_marks(row["snippet"])
    return SearchHit(
        pack_id=row["pack_id"],
        pack_title=row["pack_title"],
        doc_id=row["doc_id"],
        doc_title=row["doc_title"],
        media_type=row["media_type"],
        unit=row["number"],
        label=row["label"],
        anchor=row["anchor"],
        snippet=snippet,
        highlights=highlights,
        score=round(-row["rank"], 4),
    )


def _split_marks(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Turn a marked snippet into plain one-line text plus (start, end) spans."""
    marked = " ".join(marked.split())
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start = None
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if piece == _OPEN:
            start = length
        elif piece == _CLOSE:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            plain.append(piece)
            length += len(piece)
    return "".join(plain), tuple(spans)


@dataclass(frozen=True)
class UnsearchedPages:
    """Pages of an active document that could not be read, so search cannot find them."""

    pack_id: str
    doc_id: str
    doc_title: str
    labels: tuple[str, ...]

    def sentence(self) -> str:
        shown = ", ".join(self.labels[:10]) + (", …" if len(self.labels) > 10 else "")
        word = "page" if len(self.labels) == 1 else "pages"
        return (f"Not searched: {self.doc_title} ({self.pack_id}/{self.doc_id}), {word} "
                f"{shown}, which could not be read.")


def unsearched_pages(conn: sqlite3.Connection, *, pack_id: str | None = None,
                     doc_id: str | None = None) -> list[UnsearchedPages]:
    """What search could not look in: pages of active documents recorded as unreadable."""
    try:
        rows = _unsearched_rows(conn, pack_id, doc_id)
    except sqlite3.OperationalError:  # a read-only store not yet at schema 5: none recorded
        return []
    found: dict[tuple[str, str], UnsearchedPages] = {}
    for row in rows:
        key = (row["pack_id"], row["doc_id"])
        before = found.get(key)
        labels = (before.labels if before else ()) + (row["label"],)
        found[key] = UnsearchedPages(row["pack_id"], row["doc_id"], row["title"], labels)
    return list(found.values())


def _unsearched_rows(conn: sqlite3.Connection, pack_id: str | None, doc_id: str | None
                     ) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT d.pack_id, d.doc_id, d.title, p.label FROM pages p "
        "JOIN documents d ON d.id = p.document_id "
        "JOIN packs k ON k.pack_id = d.pack_id AND k.version = d.pack_version AND k.active = 1 "
        "WHERE p.problem IS NOT NULL AND (:pack IS NULL OR d.pack_id = :pack) "
        "AND (:doc IS NULL OR d.doc_id = :doc) ORDER BY d.pack_id, d.position, p.number",
        {"pack": pack_id, "doc": doc_id},
    ).fetchall()
