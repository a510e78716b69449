"""The library as a whole: the store opened with its bundled keys, and what is installed."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.errors import NotInstalledError
from desktop_app.core.packs.signing import load_public_key
from desktop_app.core.packs.trust import trust_key
from desktop_app.core.store.db import open_store, read_only_reason

# The pack id under which "My documents" (loose files, core/my_documents.py) are stored.
MY_DOCUMENTS_ID = "local.my-documents"


@dataclass(frozen=True)
class PackInfo:
    pack_id: str
    version: str
    title: str
    publisher: str
    trust: str
    signer_name: str | None
    installed_at: str
    documents: int
    pages: int
    previous_version: str | None

    def as_json(self) -> dict:
        return {
            "pack": self.pack_id, "version": self.version, "title": self.title,
            "publisher": self.publisher, "trust": self.trust, "signer": self.signer_name,
            "installed_at": self.installed_at, "documents": self.documents,
            "pages": self.pages, "previous_version": self.previous_version,
        }


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    pack_id: str
    doc_id: str
    kind: str
    title: str
    media_type: str
    page_count: int


def open_library(store_file: Path, bundled_keys: list[Path] = ()) -> sqlite3.Connection:
    """Open the store and make sure the publisher keys that ship with Casebook are trusted."""
    conn = open_store(store_file)
    if read_only_reason(conn) is not None:
        return conn  # a read-only library keeps the keys it has; reading needs no new ones
    for key_file in bundled_keys:
        trust_key(conn, load_public_key(key_file), origin="bundled")
    return conn


def list_packs(conn: sqlite3.Connection) -> list[PackInfo]:
    rows = conn.execute(
        """
        SELECT p.pack_id, p.version, p.title, p.publisher, p.trust, p.signer_name,
               p.installed_at,
               (SELECT count(*) FROM documents d
                 WHERE d.pack_id = p.pack_id AND d.pack_version = p.version) AS documents,
               (SELECT coalesce(sum(d.page_count), 0) FROM documents d
                 WHERE d.pack_id = p.pack_id AND d.pack_version = p.version) AS pages,
               (SELECT group_concat(o.version) FROM packs o
                 WHERE o.pack_id = p.pack_id AND o.active = 0) AS previous_version
        FROM packs p WHERE p.active = 1 ORDER BY p.title COLLATE NOCASE, p.pack_id
        """
    )
    return [PackInfo(**dict(row)) for row in rows]


def list_documents(conn: sqlite3.Connection, pack_id: str | None = None) -> list[DocumentInfo]:
    rows = conn.execute(
        """
        SELECT d.id, d.pack_id, d.doc_id, d.kind, d.title, d.media_type, d.page_count
        FROM documents d JOIN packs p ON p.pack_id = d.pack_id AND p.version = d.pack_version
        WHERE p.active = 1 AND (?1 IS NULL OR d.pack_id = ?1)
        ORDER BY p.title COLLATE NOCASE, d.pack_id, d.position
        """,
        (pack_id,),
    )
    return [DocumentInfo(**dict(row)) for row in rows]


@dataclass(frozen=True)
class DocumentRecord:
    """One document of an installed pack version, as a view needs it."""

    id: int
    pack_id: str
    pack_version: str
    doc_id: str
    title: str
    kind: str
    media_type: str
    page_count: int
    blob_sha256: str
    html: str | None

    @property
    def is_pdf(self) -> bool:
        return self.media_type == "application/pdf"


_RECORD_SQL = """
SELECT d.id, d.pack_id, d.pack_version, d.doc_id, d.title, d.kind, d.media_type,
       d.page_count, d.blob_sha256, d.html
FROM documents d
"""


def document_record(conn: sqlite3.Connection, document_id: int) -> DocumentRecord:
    row = conn.execute(_RECORD_SQL + "WHERE d.id = ?", (document_id,)).fetchone()
    if row is None:
        raise NotInstalledError("That document is no longer in the library.")
    return DocumentRecord(**dict(row))


def active_document(conn: sqlite3.Connection, pack_id: str, doc_id: str) -> DocumentRecord:
    """The document ``doc_id`` of the active version of ``pack_id``."""
    row = conn.execute(
        _RECORD_SQL + "JOIN packs p ON p.pack_id = d.pack_id AND p.version = d.pack_version "
        "WHERE p.active = 1 AND d.pack_id = ? AND d.doc_id = ?",
        (pack_id, doc_id),
    ).fetchone()
    if row is None:
        raise NotInstalledError(f"No installed pack {pack_id!r} has a document {doc_id!r}.")
    return DocumentRecord(**dict(row))


def document_bytes(conn: sqlite3.Connection, record: DocumentRecord) -> bytes:
    row = conn.execute("SELECT data FROM blobs WHERE sha256 = ?", (record.blob_sha256,)).fetchone()
    if row is None:
        raise NotInstalledError(f"The file of {record.title!r} is missing from the library.")
    return bytes(row["data"])


def media_bytes(conn: sqlite3.Connection, record: DocumentRecord, path: str) -> bytes | None:
    """An image (or other file) of the document's pack version, by its path in the pack."""
    row = conn.execute(
        "SELECT b.data FROM media m JOIN blobs b ON b.sha256 = m.blob_sha256 "
        "WHERE m.pack_id = ? AND m.pack_version = ? AND m.path = ?",
        (record.pack_id, record.pack_version, path),
    ).fetchone()
    return bytes(row["data"]) if row else None


def page_texts(
    conn: sqlite3.Connection, document_id: int
) -> list[tuple[int, str, str | None, str]]:
    """(number, label, anchor, text) of each page or section, in order."""
    return [
        (row["number"], row["label"], row["anchor"], row["text"])
        for row in conn.execute(
            "SELECT number, label, anchor, text FROM pages WHERE document_id = ? ORDER BY number",
            (document_id,),
        )
    ]
