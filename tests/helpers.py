"""Assertions shared by the tests."""

from __future__ import annotations

import hashlib
import sqlite3

CONTENT_TABLES = ("packs", "pack_history", "blobs", "documents", "media", "pages",
                  "publisher_keys")


def content_fingerprint(conn: sqlite3.Connection) -> dict[str, str]:
    """A hash of every row of every content table, and of the full-text index."""
    result = {}
    for table in CONTENT_TABLES:
        digest = hashlib.sha256()
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
            digest.update(repr(tuple(row)).encode())
        result[table] = digest.hexdigest()
    digest = hashlib.sha256()
    for row in conn.execute("SELECT rowid, text FROM pages_fts ORDER BY rowid"):
        digest.update(repr(tuple(row)).encode())
    result["pages_fts"] = digest.hexdigest()
    return result
