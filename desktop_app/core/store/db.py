"""Opening the store: pragmas, the newer-store refusal, backups and migrations."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from desktop_app.core.errors import StoreError, StoreTooNewError
from desktop_app.core.store.migrations import LATEST_VERSION, MIGRATIONS

log = logging.getLogger(__name__)


def open_store(path: Path, backup_dir: Path | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the store at ``path`` and bring its schema up to date.

    The connection is in autocommit mode: every write goes through
    :func:`transaction`, so the code, not the driver, decides what is atomic.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"The library file {path} cannot be created or opened: {exc}.") from exc
    try:
        _prepare(conn, path, backup_dir)
    except BaseException:
        # An open handle would keep the file locked on Windows until garbage collection.
        conn.close()
        raise
    return conn


def _prepare(conn: sqlite3.Connection, path: Path, backup_dir: Path | None) -> None:
    conn.row_factory = sqlite3.Row
    try:
        # Read the version before _configure: switching a rollback-journal file to WAL
        # rewrites its header, and a store from a newer Casebook must be refused untouched.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version <= LATEST_VERSION:
            _configure(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"The library file {path} cannot be opened: {exc}.") from exc
    if version > LATEST_VERSION:
        raise StoreTooNewError(
            f"The library at {path} was written by a newer version of Casebook "
            f"(schema {version}; this version understands up to {LATEST_VERSION}). "
            "Update Casebook to open it; the library has not been changed."
        )
    if version < LATEST_VERSION:
        if version > 0:
            _backup(conn, backup_dir or path.parent / "backups", version)
        _migrate(conn, version)


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    # synchronous=FULL: notes and queued comments live in this file, and a note the
    # window showed as saved must survive a dead battery. Packs are installed in
    # one transaction each, so FULL costs them one extra fsync, not one per page.
    conn.execute("PRAGMA synchronous = FULL")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        # WAL needs shared memory, which network drives do not give; the rollback
        # journal is slower but just as safe.
        log.warning("WAL is not available here (journal mode %s); continuing without it", mode)


def _backup(conn: sqlite3.Connection, backup_dir: Path, version: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / f"casebook-schema{version}-{stamp}.sqlite3"
    try:
        backup_dir.mkdir(parents=True, exist_ok=True)
        dest = sqlite3.connect(target)
        try:
            conn.backup(dest)
        finally:
            dest.close()
    except (OSError, sqlite3.Error) as exc:
        # No migration without a way back.
        raise StoreError(
            f"Casebook must back up the library before updating it, and could not write "
            f"{target} ({exc}). Nothing was changed."
        ) from exc
    log.info("Backed up the library to %s before migrating", target)
    return target


def _migrate(conn: sqlite3.Connection, current: int) -> None:
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        # sqlite3 does not open a transaction before DDL by itself, and
        # executescript() commits first: issue BEGIN and run statements one by one.
        try:
            with transaction(conn):
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {migration.version:d}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"Updating the library to schema {migration.version} failed ({exc}); "
                "it was left as it was."
            ) from exc
        log.info("Migrated the library to schema %d: %s", migration.version, migration.purpose)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction; rolled back whole if anything inside raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
