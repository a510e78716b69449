"""LazyFS itself: after a power cut the disk holds exactly what was made durable.

These pin the rules the power-loss tests rely on (tests/reliability/lazyfs.py), and
show that the harness can fail: SQLite with synchronous=OFF loses a committed row.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.store.backups import _fsync as fsync_path
from tests.reliability.lazyfs import LazyMount, require_fuse


@pytest.fixture(scope="module", autouse=True)
def fuse_available() -> None:
    require_fuse()


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A backing folder holding ``old.txt`` (durable), and a LazyFS mount over it."""
    backing = tmp_path / "backing"
    backing.mkdir()
    (backing / "old.txt").write_text("durable")
    yield backing, tmp_path / "mnt"


def _write(path: Path, text: str, sync: bool) -> None:
    with open(path, "w") as handle:
        handle.write(text)
        handle.flush()
        if sync:
            os.fsync(handle.fileno())


def _cut(mount: LazyMount) -> dict:
    mount.cut()
    return mount.unmount()


def test_data_is_durable_from_its_fsync_on(disk: tuple[Path, Path]) -> None:
    backing, mnt = disk
    mount = LazyMount(backing, mnt)
    _write(mnt / "old.txt", "written, not synced, and longer", sync=False)
    lost = _cut(mount)
    assert (backing / "old.txt").read_text() == "durable"
    assert lost["unsynced_files"] == ["old.txt"]

    mount = LazyMount(backing, mnt)
    _write(mnt / "old.txt", "synced", sync=True)
    with open(mnt / "old.txt", "a") as handle:
        handle.write(" and then more")
    _cut(mount)
    assert (backing / "old.txt").read_text() == "synced"


def test_a_new_file_needs_its_folder_synced(disk: tuple[Path, Path]) -> None:
    backing, mnt = disk
    mount = LazyMount(backing, mnt)
    _write(mnt / "new.txt", "synced data", sync=True)
    _cut(mount)
    assert sorted(os.listdir(backing)) == ["old.txt"]

    mount = LazyMount(backing, mnt)
    _write(mnt / "new.txt", "synced data", sync=True)
    _write(mnt / "other.txt", "not synced", sync=False)
    fsync_path(mnt)
    _cut(mount)
    assert (backing / "new.txt").read_text() == "synced data"
    assert (backing / "other.txt").read_text() == ""  # its name is durable, its data not


def test_renames_and_unlinks_are_undone_until_the_folder_is_synced(
        disk: tuple[Path, Path]) -> None:
    backing, mnt = disk
    mount = LazyMount(backing, mnt)
    _write(mnt / "old.txt.partial", "replacement", sync=True)
    os.replace(mnt / "old.txt.partial", mnt / "old.txt")
    _cut(mount)
    assert sorted(os.listdir(backing)) == ["old.txt"]
    assert (backing / "old.txt").read_text() == "durable"

    mount = LazyMount(backing, mnt)
    (mnt / "old.txt").unlink()
    _cut(mount)
    assert (backing / "old.txt").read_text() == "durable"

    mount = LazyMount(backing, mnt)
    _write(mnt / "old.txt.partial", "replacement", sync=True)
    os.replace(mnt / "old.txt.partial", mnt / "old.txt")
    fsync_path(mnt)
    _cut(mount)
    assert sorted(os.listdir(backing)) == ["old.txt"]
    assert (backing / "old.txt").read_text() == "replacement"


@pytest.mark.parametrize(("synchronous", "kept"), [("FULL", True), ("OFF", False)])
def test_sqlite_keeps_a_commit_only_when_it_syncs(disk: tuple[Path, Path], synchronous: str,
                                                   kept: bool) -> None:
    backing, mnt = disk
    conn = sqlite3.connect(backing / "db.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    mount = LazyMount(backing, mnt)
    conn = sqlite3.connect(mnt / "db.sqlite3", isolation_level=None)
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("INSERT INTO t VALUES ('committed')")
    # The power goes with the connection open: its checkpoint at close cannot land.
    mount.cut()
    conn.close()
    mount.unmount()
    after = sqlite3.connect(backing / "db.sqlite3")
    try:
        assert after.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert after.execute("SELECT count(*) FROM t").fetchone()[0] == int(kept)
    finally:
        after.close()
