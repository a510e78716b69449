"""Copies of the store: scheduled (at most once a day, the last five kept), before every
migration, and putting one back in place of a damaged store.

Backups are written with the SQLite backup API (a consistent copy even while the
store is in use) to a ``.partial`` file that is renamed only when complete, so a
killed process or a full disk never leaves a half backup that looks whole.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

AUTO_PREFIX = "casebook-auto-"
KEEP_SCHEDULED = 5
INTERVAL = timedelta(days=1)
STAMP = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^casebook-(auto|schema\d+)-(\d{8}T\d{6}Z)\.sqlite3$")


@dataclass(frozen=True)
class Backup:
    path: Path
    kind: str  # "auto" (scheduled) or "schema<N>" (before migrating from schema N)
    created: datetime

    def describe(self) -> str:
        made = self.created.strftime("%Y-%m-%d %H:%M UTC")
        why = "automatic" if self.kind == "auto" else f"before the update from {self.kind}"
        return f"{self.path} ({why}, {made})"


def list_backups(backup_dir: Path) -> list[Backup]:
    """Every complete backup in ``backup_dir``, newest first."""
    found = []
    try:
        names = [p for p in backup_dir.iterdir() if p.is_file()]
    except OSError:
        return []
    for path in names:
        match = _NAME.match(path.name)
        if match:
            created = datetime.strptime(match[2], STAMP).replace(tzinfo=UTC)
            found.append(Backup(path, match[1], created))
    return sorted(found, key=lambda b: (b.created, b.path.name), reverse=True)


def scheduled_backup_due(backup_dir: Path, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    scheduled = [b for b in list_backups(backup_dir) if b.kind == "auto"]
    # A clock set back must not stop backups for good: a "future" backup counts as due.
    return not scheduled or not (now - INTERVAL < scheduled[0].created <= now)


def write_backup(conn: sqlite3.Connection, target: Path) -> Path:
    """A consistent copy of the store behind ``conn`` at ``target``; raises OSError or
    sqlite3.Error, leaving no partial file behind."""
    _make_folder(target.parent)
    partial = target.with_name(target.name + ".partial")
    try:
        dest = sqlite3.connect(partial)
        try:
            conn.backup(dest)
        finally:
            dest.close()
        _fsync(partial)
        os.replace(partial, target)
        _fsync_dir(target.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def write_scheduled_backup(
    conn: sqlite3.Connection, backup_dir: Path, now: datetime | None = None
) -> Path | None:
    """Write today's backup and keep the last ``KEEP_SCHEDULED``; None if it failed.

    A failed scheduled backup (a full disk, say) is logged, not raised: the reader can
    still read and save, and the next start tries again.
    """
    now = now or datetime.now(UTC)
    target = backup_dir / f"{AUTO_PREFIX}{now.strftime(STAMP)}.sqlite3"
    try:
        write_backup(conn, target)
    except (OSError, sqlite3.Error) as exc:
        log.warning("The scheduled backup to %s failed: %s", target, exc)
        return None
    for old in [b for b in list_backups(backup_dir) if b.kind == "auto"][KEEP_SCHEDULED:]:
        old.path.unlink(missing_ok=True)
    log.info("Backed up the library to %s", target)
    return target


def restore_backup(store_file: Path, backup: Path) -> Path:
    """Put ``backup`` in place of the store; returns where the old store was moved.

    The old (usually damaged) file is never overwritten or deleted: it is renamed to
    ``casebook-damaged-<time>.sqlite3`` beside it, with its WAL, so that nothing in it
    is lost for good. The backup itself is copied, not moved, and stays a backup.
    """
    check = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        result = check.execute("PRAGMA quick_check(1)").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        result = str(exc)
    finally:
        check.close()
    if result != "ok":
        from desktop_app.core.errors import StoreError

        raise StoreError(f"The backup {backup} is damaged too ({result}); nothing was changed.")
    stamp = datetime.now(UTC).strftime(STAMP)
    aside = store_file.with_name(f"casebook-damaged-{stamp}.sqlite3")
    incoming = store_file.with_name(store_file.name + ".restoring")
    shutil.copyfile(backup, incoming)
    _fsync(incoming)
    if store_file.exists():
        os.replace(store_file, aside)
    for suffix in ("-wal", "-shm"):
        # The WAL belongs to the damaged file: keep it beside it, never apply it to the backup.
        extra = store_file.with_name(store_file.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    os.replace(incoming, store_file)
    _fsync_dir(store_file.parent)
    log.warning("Restored the library from %s; the previous file is kept as %s", backup, aside)
    return aside


def _make_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) durably: a new folder's name is on the disk
    only once the folder holding it is synced, or a power cut takes the folder and
    every backup in it, each one synced in vain (tests/reliability/test_power_loss.py)."""
    missing = [f for f in (folder, *folder.parents) if not f.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    for created in missing:
        _fsync_dir(created.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    # A rename is durable only once its folder is synced (POSIX); Windows has no such call.
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        _fsync(folder)
