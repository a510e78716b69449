"""The store file: how it is opened, refused, backed up and migrated; and where it lives."""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import platformdirs
import pytest

from desktop_app import cli, paths
from desktop_app.core.errors import (
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreTooNewError,
)
from desktop_app.core.library import open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.core.search import search
from desktop_app.core.store import backups, db
from desktop_app.core.store.backups import restore_backup
from desktop_app.core.store.db import open_secondary, open_store
from desktop_app.core.store.migrations import LATEST_VERSION, MIGRATIONS, Migration
from desktop_app.paths import APP_NAME, DATA_DIR_ENV, PORTABLE_MARKER, resolve_paths
from desktop_app.sample import BUNDLED_KEYS, sample_pack


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _schema(path: Path) -> list[tuple[str, str, str | None]]:
    """The file's schema and version, read without Casebook's own code."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        return [("version", str(conn.execute("PRAGMA user_version").fetchone()[0]), None),
                *rows]
    finally:
        conn.close()


def _user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def _use_migrations(monkeypatch: pytest.MonkeyPatch, migrations: tuple[Migration, ...]) -> None:
    """Make ``open_store`` see these migrations, as a later Casebook would ship them."""
    monkeypatch.setattr(db, "MIGRATIONS", migrations)
    monkeypatch.setattr(db, "LATEST_VERSION", migrations[-1].version)


def _store_with_a_setting(path: Path) -> None:
    conn = open_store(path)
    conn.execute("INSERT INTO settings (key, value) VALUES ('theme', 'dark')")
    conn.close()


# --- Opening ---------------------------------------------------------------------------


def test_a_new_store_is_wal_with_foreign_keys_and_full_sync(tmp_path: Path) -> None:
    conn = open_store(tmp_path / "casebook.sqlite3")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    finally:
        conn.close()
    # Nothing existed to lose, so nothing was backed up.
    assert not (tmp_path / "backups").exists()


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_store_from_a_newer_casebook_is_refused_and_left_byte_for_byte(
    tmp_path: Path, journal: str
) -> None:
    path = tmp_path / "casebook.sqlite3"
    newer = sqlite3.connect(path)
    newer.execute(f"PRAGMA journal_mode = {journal}")
    newer.execute("CREATE TABLE future_things (id INTEGER PRIMARY KEY)")
    newer.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    newer.commit()
    newer.close()
    before = _sha256(path)

    with pytest.raises(StoreTooNewError) as refused:
        open_store(path)

    message = str(refused.value)
    assert f"schema {LATEST_VERSION + 1}" in message
    assert f"up to {LATEST_VERSION}" in message
    assert _sha256(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["casebook.sqlite3"]


def test_a_file_that_is_not_sqlite_is_refused_naming_it_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "casebook.sqlite3"
    path.write_bytes(b"These are my notes, not a database.\n" * 200)
    before = _sha256(path)

    with pytest.raises(StoreError) as refused:
        open_store(path)

    assert str(path) in str(refused.value)
    assert _sha256(path) == before


# --- Migrations ------------------------------------------------------------------------


def test_a_failing_migration_leaves_the_store_at_its_old_version_and_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "casebook.sqlite3"
    _store_with_a_setting(path)
    schema_before = _schema(path)
    broken = Migration(
        LATEST_VERSION + 1,
        "Notes (the second statement names a table that does not exist)",
        ("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT",
         "INSERT INTO no_such_table VALUES (1)"),
    )
    _use_migrations(monkeypatch, (*MIGRATIONS, broken))

    with pytest.raises(StoreError, match=f"schema {LATEST_VERSION + 1} failed"):
        open_store(path)

    # Half of the migration ran before it failed; none of it stayed.
    assert _schema(path) == schema_before
    assert _user_version(path) == LATEST_VERSION
    # The version of Casebook that wrote the store still opens it, with the data.
    monkeypatch.undo()
    conn = open_store(path)
    try:
        assert conn.execute("SELECT value FROM settings WHERE key = 'theme'").fetchone()[0] \
            == "dark"
    finally:
        conn.close()


def test_an_existing_store_is_backed_up_before_it_is_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "casebook.sqlite3"
    _use_migrations(monkeypatch, MIGRATIONS[:1])
    _store_with_a_setting(path)
    assert _user_version(path) == 1
    notes = Migration(2, "Notes", ("CREATE TABLE notes (id INTEGER PRIMARY KEY) STRICT",))
    _use_migrations(monkeypatch, (MIGRATIONS[0], notes))

    open_store(path).close()

    [backup] = (tmp_path / "backups").glob("casebook-schema1-*.sqlite3")
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA user_version").fetchone()[0] == 1
        assert copy.execute("SELECT value FROM settings WHERE key = 'theme'").fetchone()[0] \
            == "dark"
        assert copy.execute("SELECT name FROM sqlite_master WHERE name = 'notes'").fetchone() \
            is None
    finally:
        copy.close()
    migrated = _schema(path)
    assert migrated[0] == ("version", "2", None)
    assert "notes" in {name for _, name, _ in migrated}


def test_no_migration_runs_when_the_backup_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "casebook.sqlite3"
    _use_migrations(monkeypatch, MIGRATIONS[:1])
    _store_with_a_setting(path)
    (tmp_path / "backups").write_text("a file where the backup folder should be")
    notes = Migration(2, "Notes", ("CREATE TABLE notes (id INTEGER PRIMARY KEY) STRICT",))
    _use_migrations(monkeypatch, (MIGRATIONS[0], notes))

    with pytest.raises(StoreError, match="could not write .*Nothing was changed"):
        open_store(path)

    assert _user_version(path) == 1
    assert "notes" not in {name for _, name, _ in _schema(path)}


# --- Where the store lives -------------------------------------------------------------


@pytest.fixture
def program_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder Casebook runs from; tests put the portable marker in it or not."""
    folder = tmp_path / "program"
    folder.mkdir()
    monkeypatch.setattr(paths, "program_dir", lambda: folder)
    return folder


def test_an_explicit_data_dir_wins_over_the_environment_and_portable_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program_folder: Path
) -> None:
    (program_folder / PORTABLE_MARKER).write_text("")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))

    chosen = resolve_paths(tmp_path / "explicit")

    assert chosen.data_dir == (tmp_path / "explicit").resolve()
    assert chosen.store_file == chosen.data_dir / "casebook.sqlite3"
    assert chosen.log_dir == chosen.data_dir / "logs"
    assert chosen.portable is False


def test_the_environment_wins_over_portable_mode_and_the_platform_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program_folder: Path
) -> None:
    (program_folder / PORTABLE_MARKER).write_text("")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))

    chosen = resolve_paths()

    assert chosen.data_dir == (tmp_path / "from-env").resolve()
    assert chosen.portable is False


def test_portable_mode_keeps_everything_in_data_beside_the_program(
    program_folder: Path,
) -> None:
    (program_folder / PORTABLE_MARKER).write_text("")

    chosen = resolve_paths()

    assert chosen.portable is True
    assert chosen.data_dir == program_folder / "data"
    assert chosen.log_dir == program_folder / "data" / "logs"
    assert chosen.cache_dir == program_folder / "data" / "cache"
    assert chosen.backup_dir == program_folder / "data" / "backups"


def test_without_any_choice_the_platform_user_folders_are_used(program_folder: Path) -> None:
    chosen = resolve_paths()

    assert chosen.portable is False
    assert chosen.data_dir == Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if os.name == "posix":
        assert Path(os.environ["HOME"]) in chosen.data_dir.parents


def test_the_cli_data_dir_option_creates_the_store_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], program_folder: Path
) -> None:
    folder = tmp_path / "my library"

    assert cli.main(["--data-dir", str(folder), "pack", "list"]) == 0

    assert "No packs installed." in capsys.readouterr().out
    assert _user_version(folder / "casebook.sqlite3") == LATEST_VERSION
    assert (folder / "logs" / "casebook.log").is_file()
    assert not Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)).exists()


def test_the_cli_in_portable_mode_creates_the_store_beside_the_program(
    program_folder: Path,
) -> None:
    (program_folder / PORTABLE_MARKER).write_text("")

    assert cli.main(["pack", "list"]) == 0

    assert _user_version(program_folder / "data" / "casebook.sqlite3") == LATEST_VERSION
    assert not Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)).exists()


# --- Damage, backups and restoring -----------------------------------------------------


def _store_with_pages(path: Path, rows: int = 200) -> None:
    conn = open_store(path)
    with db.transaction(conn):
        conn.executemany("INSERT INTO settings (key, value) VALUES (?, ?)",
                         ((f"k{n}", f"value {n} " * 50) for n in range(rows)))
    conn.close()


def _damage(path: Path) -> None:
    """Overwrite pages in the middle of the file, as a failing disk would."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle:middle + 3 * 4096] = b"\xa5" * (3 * 4096)
    path.write_bytes(bytes(data))


def test_a_damaged_store_is_refused_naming_it_and_the_newest_backup_and_left_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "casebook.sqlite3"
    _store_with_pages(path)
    open_store(path).close()  # the second start takes the day's backup
    [backup] = backups.list_backups(tmp_path / "backups")
    _damage(path)
    before = _sha256(path)

    with pytest.raises(StoreCorruptError) as refused:
        open_store(path)

    assert str(path) in str(refused.value) and str(backup.path) in str(refused.value)
    assert refused.value.store_file == path and refused.value.backup == backup.path
    assert _sha256(path) == before


def test_restoring_a_backup_brings_its_data_back_and_keeps_the_damaged_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "casebook.sqlite3"
    _store_with_pages(path)
    open_store(path).close()
    _damage(path)
    damaged = _sha256(path)
    with pytest.raises(StoreCorruptError) as refused:
        open_store(path)

    aside = restore_backup(path, refused.value.backup)

    assert aside.name.startswith("casebook-damaged-") and aside.parent == tmp_path
    assert _sha256(aside) == damaged
    conn = open_store(path)
    try:
        assert conn.execute("SELECT count(*) FROM settings").fetchone()[0] == 200
    finally:
        conn.close()


def test_a_store_closed_cleanly_opens_without_the_full_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "casebook.sqlite3"
    _store_with_pages(path)
    open_store(path).close()
    checks: list[Path] = []
    real = db.check_store
    monkeypatch.setattr(db, "check_store", lambda c, p, b: (checks.append(p), real(c, p, b)))

    open_store(path).close()
    assert checks == []  # the marker matches: nothing wrote the file since
    os.utime(path)  # something else touched it
    open_store(path).close()
    assert checks == [path]


def test_scheduled_backups_are_daily_and_the_last_five_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "casebook.sqlite3"
    _store_with_pages(path, rows=5)
    conn = open_store(path)
    folder = tmp_path / "backups"
    try:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        for day in range(8):
            backups.write_scheduled_backup(conn, folder, start + timedelta(days=day))
        assert not backups.scheduled_backup_due(folder, start + timedelta(days=7, hours=5))
        assert backups.scheduled_backup_due(folder, start + timedelta(days=8, hours=1))
    finally:
        conn.close()
    kept = [b for b in backups.list_backups(folder) if b.kind == "auto"]
    # The newest five; the one taken at open today and the first days' went.
    assert [b.created for b in kept] == [start + timedelta(days=d) for d in range(7, 2, -1)]
    assert not list(folder.glob("*.partial"))


def test_a_read_only_store_reads_and_refuses_writes_in_plain_words(tmp_path: Path) -> None:
    path = tmp_path / "casebook.sqlite3"
    _store_with_pages(path, rows=3)
    conn = open_store(path, read_only=True)
    try:
        assert conn.execute("SELECT count(*) FROM settings").fetchone()[0] == 3
        with (pytest.raises(StoreReadOnlyError, match=r"read-only \(opened read-only\); nothing"),
              db.transaction(conn)):
            conn.execute("DELETE FROM settings")
    finally:
        conn.close()


def test_a_disk_full_error_inside_a_transaction_becomes_a_store_error_and_rolls_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "casebook.sqlite3"
    _store_with_pages(path, rows=3)
    conn = open_store(path)
    try:
        with (pytest.raises(StoreFullError, match="is full; nothing was changed"),
              db.transaction(conn)):
            conn.execute("DELETE FROM settings")
            raise OSError(errno.ENOSPC, "No space left on device")
        assert conn.execute("SELECT count(*) FROM settings").fetchone()[0] == 3
    finally:
        conn.close()


def test_a_second_connection_in_the_window_keeps_its_locks_from_other_casebooks(
    tmp_path: Path,
) -> None:
    """The window holds several connections (its own, search, sync). Opening one more
    must not cancel the locks of the others: if it did, a `casebook notes add` in a
    terminal believed itself alone, checkpointed and deleted the WAL under the window,
    and the window's library search failed ("vtable constructor failed")."""
    data = tmp_path / "data"
    store = data / "casebook.sqlite3"
    window = open_library(store, BUNDLED_KEYS)
    install_pack(window, sample_pack(tmp_path / "build"))
    searching = open_secondary(store)
    assert search(searching, "moderation")
    open_secondary(store).close()  # the sync worker's connection, each run

    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(data), "notes", "add",
         "--pack", "org.casebook.sample.local-by-social", "--doc", "guide",
         "--quote", "house rules", "--note", "from the terminal"],
        capture_output=True, text=True, check=True)
    assert "Saved note" in done.stdout

    # The terminal's Casebook saw the window's connections and left the WAL to them.
    assert store.with_name(store.name + "-wal").exists()
    assert search(searching, "terminal", include_notes=True)
    searching.close()
    window.close()
