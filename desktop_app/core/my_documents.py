""""My documents": PDFs and Markdown files that came from elsewhere.

They live in the store as the documents of one local collection, which behaves
like an installed pack (searchable, openable, annotatable) but is never updated
from anywhere and holds only what the user added.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

from desktop_app.core.documents import ExtractedDocument
from desktop_app.core.documents.markdown_html import MAX_MARKDOWN_BYTES, render_markdown
from desktop_app.core.documents.pdf import extract_pdf
from desktop_app.core.errors import DocumentError, NotInstalledError
from desktop_app.core.library import MY_DOCUMENTS_ID, DocumentRecord, document_record
from desktop_app.core.search import FULL_TEXT_INDEXES
from desktop_app.core.store.db import transaction, utc_now

COLLECTION_ID = MY_DOCUMENTS_ID
COLLECTION_VERSION = "0.0.0"
MAX_FILE_BYTES = 512 * 1024 * 1024
MEDIA_TYPES = {".pdf": "application/pdf", ".md": "text/markdown", ".markdown": "text/markdown"}


def add_document(conn: sqlite3.Connection, path: Path) -> DocumentRecord:
    """Add a PDF or Markdown file; adding the same bytes again returns the existing one."""
    media_type = MEDIA_TYPES.get(path.suffix.lower())
    if media_type is None:
        raise DocumentError(f"{path.name} is not a PDF or Markdown file.")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(f"{path.name} is larger than {MAX_FILE_BYTES:,} bytes.")
        # Refused before reading: a 50 MB "case study" would be read whole only to be
        # turned away by render_markdown's limit.
        if media_type == "text/markdown" and size > MAX_MARKDOWN_BYTES:
            raise DocumentError(f"{path.name} is {size:,} bytes of Markdown; "
                                f"the limit is {MAX_MARKDOWN_BYTES:,}.")
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path} cannot be read ({exc.strerror}).") from None
    digest = hashlib.sha256(data).hexdigest()
    existing = conn.execute(
        "SELECT id FROM documents WHERE pack_id = ? AND blob_sha256 = ?", (COLLECTION_ID, digest)
    ).fetchone()
    if existing:
        return document_record(conn, existing["id"])
    extracted: ExtractedDocument = (
        extract_pdf(data, path.name) if media_type == "application/pdf"
        else render_markdown(data, path.name)
    )
    doc_id = f"{_slug(path.stem)}-{digest[:8]}"
    with transaction(conn):
        _ensure_collection(conn)
        conn.execute("INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?, ?, ?)",
                     (digest, len(data), data))
        position = conn.execute("SELECT count(*) FROM documents WHERE pack_id = ?",
                                (COLLECTION_ID,)).fetchone()[0]
        document_id = conn.execute(
            "INSERT INTO documents (pack_id, pack_version, doc_id, position, kind, title, "
            "media_type, path, blob_sha256, page_count, text_sha256, extractor, html) "
            "VALUES (?, ?, ?, ?, 'loose', ?, ?, ?, ?, ?, ?, ?, ?)",
            (COLLECTION_ID, COLLECTION_VERSION, doc_id, position, path.stem, media_type,
             path.name, digest, len(extracted.units), extracted.text_sha256,
             extracted.extractor, extracted.html),
        ).lastrowid
        conn.executemany(
            "INSERT INTO pages (document_id, number, label, anchor, text, problem) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((document_id, u.number, u.label, u.anchor, u.text, u.problem)
             for u in extracted.units),
        )
        for index in FULL_TEXT_INDEXES:
            conn.execute(f"INSERT INTO {index} (rowid, text) "
                         "SELECT id, text FROM pages WHERE document_id = ?", (document_id,))
    return document_record(conn, document_id)


def remove_document(conn: sqlite3.Connection, doc_id: str) -> None:
    row = conn.execute("SELECT id FROM documents WHERE pack_id = ? AND doc_id = ?",
                       (COLLECTION_ID, doc_id)).fetchone()
    if row is None:
        raise NotInstalledError(f"{doc_id!r} is not in My documents.")
    with transaction(conn):
        for index in FULL_TEXT_INDEXES:
            conn.execute(f"INSERT INTO {index} ({index}, rowid, text) "
                         "SELECT 'delete', id, text FROM pages WHERE document_id = ?", (row["id"],))
        conn.execute("DELETE FROM documents WHERE id = ?", (row["id"],))
        conn.execute(
            "DELETE FROM blobs WHERE sha256 NOT IN "
            "(SELECT blob_sha256 FROM documents UNION SELECT blob_sha256 FROM media)"
        )


def _ensure_collection(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO packs (pack_id, version, title, publisher, manifest, "
        "manifest_sha256, trust, installed_at, active) "
        "VALUES (?, ?, 'My documents', 'You', '{}', '', 'local', ?, 1)",
        (COLLECTION_ID, COLLECTION_VERSION, utc_now()),
    )


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:48] or "document"
