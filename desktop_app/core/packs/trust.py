"""Publisher keys the reader trusts, kept in the store (never taken from a pack)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from desktop_app.core.errors import NotInstalledError
from desktop_app.core.packs.signing import PublicKey
from desktop_app.core.store.db import transaction, utc_now


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    name: str
    origin: str
    added_at: str


def trusted_keys(conn: sqlite3.Connection) -> dict[str, PublicKey]:
    rows = conn.execute("SELECT name, public_key FROM publisher_keys")
    keys = (PublicKey(row["name"], bytes(row["public_key"])) for row in rows)
    return {key.key_id: key for key in keys}


def list_keys(conn: sqlite3.Connection) -> list[TrustedKey]:
    rows = conn.execute(
        "SELECT key_id, name, origin, added_at FROM publisher_keys ORDER BY name, key_id"
    )
    return [TrustedKey(**dict(row)) for row in rows]


def trust_key(conn: sqlite3.Connection, key: PublicKey, origin: str = "user") -> bool:
    """Trust ``key``; returns False if it was trusted already."""
    with transaction(conn):
        cursor = conn.execute(
            "INSERT OR IGNORE INTO publisher_keys (key_id, name, public_key, origin, added_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (key.key_id, key.name, key.raw, origin, utc_now()),
        )
    return cursor.rowcount == 1


def untrust_key(conn: sqlite3.Connection, key_id: str) -> None:
    with transaction(conn):
        cursor = conn.execute("DELETE FROM publisher_keys WHERE key_id = ?", (key_id,))
    if cursor.rowcount == 0:
        raise NotInstalledError(f"No trusted publisher key has the id {key_id!r}.")
