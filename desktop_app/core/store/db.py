"""Opening the store: pragmas, read-only stores, damage detection, the newer-store
refusal, backups, migrations, and the one place write errors become plain words."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from desktop_app.core.errors import (
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreTooNewError,
)
from desktop_app.core.store import backups
from desktop_app.core.store.migrations import LATEST_VERSION, MIGRATIONS

log = logging.getLogger(__name__)

CLEAN_SUFFIX = "-clean"
# Below this much free space an I/O failure is reported as a full disk: SQLite says
# "disk I/O error" when it cannot grow its shared-memory file, not "disk is full".
NEARLY_FULL_BYTES = 1024 * 1024


class StoreConnection(sqlite3.Connection):
    """A connection that knows its file and whether it may write.

    ``read_only_reason`` is None for a writable store, else the words that say why
    (shown in "The library is read-only (...)"). Closing a writable store cleanly
    leaves a marker that lets the next start skip the full damage check.
    """

    store_path: Path | None = None
    read_only_reason: str | None = None
    _mark_clean_on_close = False

    def close(self) -> None:
        super().close()
        if self._mark_clean_on_close and self.store_path is not None:
            self._mark_clean_on_close = False
            _write_clean_marker(self.store_path)


def read_only_reason(conn: sqlite3.Connection) -> str | None:
    return getattr(conn, "read_only_reason", None)


# Test-only, never set in use: hold every write transaction open this long before its
# COMMIT, so the crash tests' kills land inside writes that are otherwise over in
# milliseconds (pack remove, rollback). Needs both variables, like the render worker's.
_PAUSE_BEFORE_COMMIT = (
    float(os.environ.get("CASEBOOK_TEST_PAUSE_BEFORE_COMMIT", "0") or 0)
    if os.environ.get("CASEBOOK_TEST_HOOKS") == "1" else 0.0)


def open_store(
    path: Path, backup_dir: Path | None = None, *, read_only: bool | None = None
) -> sqlite3.Connection:
    """Open (creating if needed) the store at ``path`` and bring its schema up to date.

    The connection is in autocommit mode: every write goes through
    :func:`transaction`, so the code, not the driver, decides what is atomic.

    ``read_only=None`` opens read-only by itself when the file or its folder cannot
    be written (a locked-down share, a read-only medium); reads work, and every
    write raises :class:`StoreReadOnlyError` before touching anything. A damaged file
    raises :class:`StoreCorruptError` naming the newest backup, and is left as it is.
    """
    backup_dir = backup_dir or path.parent / "backups"
    reason = "opened read-only" if read_only else None
    if read_only is None:
        reason = _unwritable_reason(path)
    conn = _connect_writable(path) if reason is None else _connect_read_only(path, reason)
    try:
        _prepare(conn, path, backup_dir)
    except BaseException:
        # An open handle would keep the file locked on Windows until garbage collection.
        conn.close()
        raise
    if reason is None:
        conn._mark_clean_on_close = True
    else:
        log.info("The library %s is read-only (%s)", path, reason)
    return conn


def open_secondary(path: Path, reason: str | None = None, *,
                   query_only: bool = False) -> sqlite3.Connection:
    """Another connection to a store this process already opened with :func:`open_store`
    (for a worker thread: SQLite connections must not cross threads); ``reason`` is
    the primary's :func:`read_only_reason`.

    The primary open has checked, migrated and backed up the file; doing it again
    would cost a full check each time and move the clean-close marker, so this only
    connects with the same settings (and the same read-only state).
    """
    conn = _connect_writable(path) if reason is None else _connect_read_only(path, reason)
    conn.row_factory = sqlite3.Row
    if reason is None:
        _configure(conn)
    else:
        conn.execute("PRAGMA foreign_keys = ON")
    if reason is not None or query_only:  # a reader (search) never writes by mistake
        conn.execute("PRAGMA query_only = ON")
    return conn


def _connect_writable(path: Path) -> StoreConnection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=10.0, factory=StoreConnection)
        _check_header(conn, path)
    except OSError as exc:
        raise _translate(exc, path) or StoreError(
            f"The library file {path} cannot be created or opened: {exc}.") from exc
    except sqlite3.Error as exc:
        raise _translate(exc, path) or StoreError(
            f"The library file {path} cannot be created or opened: {exc}.") from exc
    conn.store_path = path
    return conn


def _connect_read_only(path: Path, reason: str) -> StoreConnection:
    if not path.exists():
        raise StoreReadOnlyError(
            f"There is no library at {path}, and one cannot be created there ({reason}).")
    if not os.access(path, os.R_OK):
        raise StoreError(f"The library file {path} cannot be read: Permission denied.")
    # mode=ro still needs the -wal and -shm files, which a read-only folder cannot hold
    # when the last writer removed them; nobody can write a read-only medium either,
    # so immutable=1 (no locking, no WAL) is then safe.
    uri = path.resolve().as_uri()
    conn = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        conn = sqlite3.connect(uri + query, uri=True, isolation_level=None, timeout=10.0,
                               factory=StoreConnection)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            break
        except sqlite3.OperationalError as exc:
            conn.close()
            conn = None
            last = exc
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _corrupt(path, str(exc), path.parent / "backups") from exc
    if conn is None:
        raise StoreError(f"The library file {path} cannot be opened ({reason}): {last}.")
    conn.store_path = path
    conn.read_only_reason = reason
    return conn


def _unwritable_reason(path: Path) -> str | None:
    """Why the store cannot be written, or None if it can (or can be created)."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only disk"
    except (OSError, AttributeError):  # no statvfs on Windows
        pass
    # os.access answers for the real user; root passes it except on read-only mounts.
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {path} cannot be written"
    if not os.access(folder, os.W_OK):
        return f"the folder {folder} cannot be written"
    return None


def _check_header(conn: sqlite3.Connection, path: Path) -> None:
    """Cheap: a store that does not start as an SQLite file is damaged (or not ours).

    Asked of SQLite, never by opening the file ourselves: closing any other descriptor
    of the file cancels every POSIX lock this process holds on it, the other
    connections' included ("How To Corrupt An SQLite Database File", 2.2.1). Another
    Casebook then believed itself alone, checkpointed and deleted the WAL under the
    window's open connections, whose next reads failed ("vtable constructor failed",
    "database disk image is malformed")."""
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        if _code(exc) not in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            raise
        conn.close()
        detail = ("it does not start like an SQLite database"
                  if _code(exc) == sqlite3.SQLITE_NOTADB else str(exc))
        raise _corrupt(path, detail, path.parent / "backups") from None


def _prepare(conn: StoreConnection, path: Path, backup_dir: Path) -> None:
    conn.row_factory = sqlite3.Row
    writable = conn.read_only_reason is None
    try:
        # Read the version before _configure: switching a rollback-journal file to WAL
        # rewrites its header, and a store from a newer Casebook must be refused untouched.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > LATEST_VERSION:
            raise StoreTooNewError(
                f"The library at {path} was written by a newer version of Casebook "
                f"(schema {version}; this version understands up to {LATEST_VERSION}). "
                "Update Casebook to open it; the library has not been changed."
            )
        checked = version > 0 and not _clean_marker_matches(path)
        if checked:
            # Not closed cleanly last time (or changed since by something else): check
            # every page before anything is written to it.
            check_store(conn, path, backup_dir)
        if writable:
            _clear_clean_marker(path)
            _configure(conn)
        else:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA query_only = ON")
    except sqlite3.DatabaseError as exc:
        raise _translate(exc, path) or StoreError(
            f"The library file {path} cannot be opened: {exc}.") from exc
    if version < LATEST_VERSION:
        if not writable:
            raise StoreReadOnlyError(
                f"The library at {path} needs updating to this version of Casebook, and it "
                f"is read-only ({conn.read_only_reason}); it has not been changed.")
        if version > 0:
            _backup(conn, backup_dir, version)
        _migrate(conn, version)
    if writable and version > 0 and backups.scheduled_backup_due(backup_dir):
        # A new store has nothing to lose yet; an existing one is checked before its
        # copy is taken, so a damaged store never pushes good backups out.
        if not checked:
            check_store(conn, path, backup_dir)
        backups.write_scheduled_backup(conn, backup_dir)


def check_store(conn: sqlite3.Connection, path: Path, backup_dir: Path) -> None:
    """Raise StoreCorruptError unless SQLite's quick_check passes (every page read:
    about 50 ms warm and 230 ms cold for a 10,000-page, 130 MB store)."""
    try:
        result = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if _code(exc) not in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            raise
        result = str(exc)
    if result != "ok":
        raise _corrupt(path, result, backup_dir)


def _corrupt(path: Path, detail: str, backup_dir: Path) -> StoreCorruptError:
    found = backups.list_backups(backup_dir)
    newest = found[0] if found else None
    offer = (f" The newest backup is {newest.describe()}; Casebook can put it back "
             "(the damaged file is kept beside it)." if newest else
             " There is no backup of it to restore.")
    return StoreCorruptError(
        f"The library file {path} is damaged ({detail}). It has not been changed.{offer}",
        store_file=path, backup=newest.path if newest else None,
    )


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
    stamp = datetime.now(UTC).strftime(backups.STAMP)
    target = backup_dir / f"casebook-schema{version}-{stamp}.sqlite3"
    try:
        backups.write_backup(conn, target)
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
                if migration.step is not None:
                    migration.step(conn)
                conn.execute(f"PRAGMA user_version = {migration.version:d}")
        except StoreError:
            raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"Updating the library to schema {migration.version} failed ({exc}); "
                "it was left as it was."
            ) from exc
        log.info("Migrated the library to schema %d: %s", migration.version, migration.purpose)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction; rolled back whole if anything inside raises.

    This is the one place where a full disk, a read-only store or a damaged file
    become a :class:`StoreError` in plain words: every write of the core passes here.
    """
    reason = read_only_reason(conn)
    if reason is not None:
        raise StoreReadOnlyError(f"The library is read-only ({reason}); nothing can be changed.")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        mapped = _translate(exc, _path_of(conn))
        if mapped is None:
            raise
        raise mapped from exc
    try:
        yield conn
        if _PAUSE_BEFORE_COMMIT:
            time.sleep(_PAUSE_BEFORE_COMMIT)
        conn.execute("COMMIT")
    except BaseException as exc:
        # On a full disk or an I/O error SQLite may have rolled back already.
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as rollback_error:  # the journal undoes it at next open
                log.warning("ROLLBACK failed: %s", rollback_error)
        if isinstance(exc, sqlite3.Error | OSError):
            mapped = _translate(exc, _path_of(conn))
            if mapped is not None:
                raise mapped from exc
        raise


def _translate(exc: BaseException, path: Path | None) -> StoreError | None:
    """A StoreError in plain words for the errors a reader can do something about;
    None for the rest (programming errors keep their own type)."""
    where = f" ({path})" if path else ""
    code = _code(exc)
    full = (code == sqlite3.SQLITE_FULL
            or (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))
            or (code in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN)
                and _nearly_full(path)))
    if full:
        return StoreFullError(
            f"The disk holding the library{where} is full; nothing was changed. "
            "Free some space and try again.")
    if code == sqlite3.SQLITE_READONLY or (isinstance(exc, OSError) and exc.errno == errno.EROFS):
        return StoreReadOnlyError(
            f"The library is read-only{where}; nothing can be changed.")
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) and path is not None:
        return _corrupt(path, str(exc), path.parent / "backups")
    if code == sqlite3.SQLITE_IOERR:
        return StoreError(
            f"The library{where} could not be written: the disk reported an error ({exc}). "
            "Nothing was changed.")
    return None


def _code(exc: BaseException) -> int | None:
    # Extended result codes keep the primary code in their low byte.
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _nearly_full(path: Path | None) -> bool:
    if path is None:
        return False
    try:
        return shutil.disk_usage(path.parent).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def _path_of(conn: sqlite3.Connection) -> Path | None:
    return getattr(conn, "store_path", None)


# --- The clean-close marker ------------------------------------------------------------
# A checked store closed cleanly leaves "<store>-clean" holding the file's size, mtime
# and inode. When they still match at the next start, nothing has written the file
# since, and the full quick_check is skipped: start stays ~1 ms instead of 50-230 ms.
# A crash (no marker), another program or a copy (different mtime/inode) triggers the
# check; silent bit rot is caught by the check before each daily backup.


def _marker(path: Path) -> Path:
    return path.with_name(path.name + CLEAN_SUFFIX)


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _clean_marker_matches(path: Path) -> bool:
    try:
        recorded = json.loads(_marker(path).read_text("utf-8"))
        wal = path.with_name(path.name + "-wal")
        return recorded == _stat_key(path) and not (wal.exists() and wal.stat().st_size)
    except (OSError, ValueError):
        return False


def _clear_clean_marker(path: Path) -> None:
    try:
        _marker(path).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("Cannot remove %s: %s", _marker(path), exc)


def _write_clean_marker(path: Path) -> None:
    marker = _marker(path)
    try:
        partial = marker.with_name(marker.name + ".partial")
        partial.write_text(json.dumps(_stat_key(path)), "utf-8")
        os.replace(partial, marker)
    except OSError as exc:  # no marker only means a check at the next start
        log.info("Cannot write %s: %s", marker, exc)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
