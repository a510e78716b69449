"""Annotations in the store: create, read, list, edit, soft delete and undo.

Every write is one transaction in a store opened with synchronous=FULL, so a note
the reader saw saved survives a power cut.
"""

from __future__ import annotations

import json
import sqlite3
import uuid as uuid_module
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from desktop_app.core.annotations.describe import describe_quote, find_quote
from desktop_app.core.annotations.geometry import PdfGeometry
from desktop_app.core.annotations.model import (
    COLOURS,
    KINDS,
    STATES,
    Annotation,
    AnnotationError,
    QuoteNotFoundError,
)
from desktop_app.core.annotations.text import DocumentText, document_text
from desktop_app.core.library import DocumentRecord
from desktop_app.core.store.db import transaction, utc_now

COLUMNS = ("uuid, pack_id, doc_id, doc_version, kind, selectors, extractor, text_sha256, "
           "body, colour, tags, created, updated, deleted, anchor_state, anchor_score")


@contextmanager
def writing(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A transaction, or the caller's when one is open (an install re-anchors inside its own)."""
    if conn.in_transaction:
        yield conn
    else:
        with transaction(conn):
            yield conn


def create_annotation(
    conn: sqlite3.Connection,
    record: DocumentRecord,
    start: int,
    end: int,
    *,
    body: str = "",
    colour: str = "yellow",
    tags: Iterable[str] = (),
    kind: str | None = None,
    text: DocumentText | None = None,
    geometry: PdfGeometry | None = None,
) -> Annotation:
    """Annotate [start, end) of the document's text; saved before this returns."""
    text = text or document_text(conn, record.id)
    # PyMuPDF work (rectangles) before the write transaction, never inside it.
    selectors = describe_quote(conn, record, start, end, text, geometry)
    row = conn.execute("SELECT extractor, text_sha256 FROM documents WHERE id = ?",
                       (record.id,)).fetchone()
    now = utc_now()
    annotation = Annotation(
        uuid=str(uuid_module.uuid4()), pack_id=record.pack_id, doc_id=record.doc_id,
        doc_version=record.pack_version, kind=kind or ("note" if body.strip() else "highlight"),
        selectors=selectors, extractor=row["extractor"], text_sha256=row["text_sha256"],
        body=body, colour=_colour(colour), tags=_tags(tags), created=now, updated=now,
    )
    if annotation.kind not in KINDS:
        raise AnnotationError(f"An annotation is a {' or a '.join(KINDS)}, not {kind!r}.")
    with writing(conn):
        conn.execute(f"INSERT INTO annotations ({COLUMNS}, quote, unit, unit_label, text_start) "
                     f"VALUES ({', '.join('?' * 20)})", _row(annotation))
    return annotation


def annotate_quote(
    conn: sqlite3.Connection, record: DocumentRecord, quote: str, *, nth: int = 0,
    **options: Any,
) -> Annotation:
    """Annotate the nth occurrence of ``quote`` (whitespace-insensitive) in the document."""
    text = document_text(conn, record.id)
    span = find_quote(text, quote, nth)
    if span is None:
        raise QuoteNotFoundError(
            f"The text {_short(quote)!r} is not in {record.title!r}; nothing was saved.")
    return create_annotation(conn, record, *span, text=text, **options)


def get_annotation(conn: sqlite3.Connection, uuid: str) -> Annotation:
    """One annotation by its uuid (or a unique beginning of it, as the CLI shows them)."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM annotations WHERE uuid = ?1 OR "
        "(length(?1) >= 4 AND substr(uuid, 1, length(?1)) = lower(?1)) LIMIT 2", (uuid,),
    ).fetchall()
    exact = [row for row in rows if row["uuid"] == uuid]
    if exact or len(rows) == 1:
        return from_row((exact or rows)[0])
    if rows:
        raise AnnotationError(f"More than one note starts with {uuid!r}; give more of its id.")
    raise AnnotationError(f"There is no note or highlight {uuid!r}.")


def list_annotations(
    conn: sqlite3.Connection,
    *,
    pack_id: str | None = None,
    doc_id: str | None = None,
    state: str | None = None,
    include_deleted: bool = False,
) -> list[Annotation]:
    """Annotations in reading order: by pack, document position, then text position;
    orphans last within their document."""
    if state is not None and state not in STATES:
        raise AnnotationError(f"The anchor state is one of {', '.join(STATES)}, not {state!r}.")
    rows = conn.execute(
        f"""
        SELECT {', '.join('a.' + c for c in COLUMNS.split(', '))}, d.position AS doc_position
        FROM annotations a
        LEFT JOIN packs p ON p.pack_id = a.pack_id AND p.active = 1
        LEFT JOIN documents d ON d.pack_id = a.pack_id AND d.pack_version = p.version
                             AND d.doc_id = a.doc_id
        WHERE (:pack IS NULL OR a.pack_id = :pack) AND (:doc IS NULL OR a.doc_id = :doc)
          AND (:state IS NULL OR a.anchor_state = :state)
          AND (:deleted OR a.deleted IS NULL)
        ORDER BY a.pack_id, d.position IS NULL, d.position, a.doc_id,
                 a.anchor_state = 'orphaned', a.text_start, a.created
        """,
        {"pack": pack_id, "doc": doc_id, "state": state, "deleted": include_deleted},
    )
    return [from_row(row) for row in rows]


def update_annotation(
    conn: sqlite3.Connection,
    uuid: str,
    *,
    body: str | None = None,
    colour: str | None = None,
    tags: Iterable[str] | None = None,
) -> Annotation:
    """Change the note text, colour or tags; None leaves a field as it is."""
    current = get_annotation(conn, uuid)
    changed = current.with_changes(
        body=current.body if body is None else body,
        colour=current.colour if colour is None else _colour(colour),
        tags=current.tags if tags is None else _tags(tags),
        updated=utc_now(),
    )
    if body is not None and body.strip() and changed.kind == "highlight":
        changed = changed.with_changes(kind="note")  # a highlight with a comment is a note
    with writing(conn):
        conn.execute(
            "UPDATE annotations SET body = ?, colour = ?, tags = ?, kind = ?, updated = ? "
            "WHERE uuid = ?",
            (changed.body, changed.colour, json.dumps(list(changed.tags)), changed.kind,
             changed.updated, changed.uuid),
        )
    return changed


def delete_annotation(conn: sqlite3.Connection, uuid: str) -> Annotation:
    """Soft delete: hidden everywhere, kept for undo (:func:`undelete_annotation`)."""
    current = get_annotation(conn, uuid)
    if current.deleted:
        return current
    now = utc_now()
    with writing(conn):
        conn.execute("UPDATE annotations SET deleted = ?, updated = ? WHERE uuid = ?",
                     (now, now, current.uuid))
    return current.with_changes(deleted=now, updated=now)


def undelete_annotation(conn: sqlite3.Connection, uuid: str) -> Annotation:
    """Undo a delete. An annotation deleted before its pack was updated was not
    re-anchored with the others; it is now, onto the version installed."""
    from desktop_app.core.annotations.reanchor import reanchor_one

    current = get_annotation(conn, uuid)
    with writing(conn):
        conn.execute("UPDATE annotations SET deleted = NULL, updated = ? WHERE uuid = ?",
                     (utc_now(), current.uuid))
    reanchor_one(conn, current.uuid)
    return get_annotation(conn, current.uuid)


def insert_annotation(conn: sqlite3.Connection, annotation: Annotation) -> bool:
    """Store an annotation made elsewhere (an import) as it is; False if its uuid is
    already taken. Inside the caller's transaction when one is open."""
    with writing(conn):
        cursor = conn.execute(
            f"INSERT OR IGNORE INTO annotations ({COLUMNS}, quote, unit, unit_label, text_start) "
            f"VALUES ({', '.join('?' * 20)})", _row(annotation))
    return cursor.rowcount == 1


def from_row(row: sqlite3.Row) -> Annotation:
    keys = row.keys()
    return Annotation(
        uuid=row["uuid"], pack_id=row["pack_id"], doc_id=row["doc_id"],
        doc_version=row["doc_version"], kind=row["kind"],
        selectors=tuple(json.loads(row["selectors"])), extractor=row["extractor"],
        text_sha256=row["text_sha256"], body=row["body"], colour=row["colour"],
        tags=tuple(json.loads(row["tags"])), created=row["created"], updated=row["updated"],
        deleted=row["deleted"], anchor_state=row["anchor_state"],
        anchor_score=row["anchor_score"],
        extra={"doc_position": row["doc_position"]} if "doc_position" in keys else {},
    )


def _row(a: Annotation) -> tuple[Any, ...]:
    return (
        a.uuid, a.pack_id, a.doc_id, a.doc_version, a.kind, json.dumps(list(a.selectors)),
        a.extractor, a.text_sha256, a.body, a.colour, json.dumps(list(a.tags)), a.created,
        a.updated, a.deleted, a.anchor_state, a.anchor_score,
        a.quote, a.unit, a.unit_label, a.start,
    )


def _colour(colour: str) -> str:
    if colour not in COLOURS:
        raise AnnotationError(f"The colour is one of {', '.join(COLOURS)}, not {colour!r}.")
    return colour


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    # Tags are words the reader files notes under: trimmed, no blanks, no repeats.
    return tuple(dict.fromkeys(" ".join(t.split()) for t in tags if t.strip()))


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
