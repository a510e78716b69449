"""A full disk and a read-only disk, made for real: a size-limited tmpfs (or, where
tmpfs cannot be mounted, a loop-mounted ext4 image). Not skipped: if neither can be
mounted the tests fail and say why."""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.packs.signing import generate_key
from desktop_app.core.store.db import open_store, read_only_reason
from tests.packfactory import PackFactory
from tests.reliability import crashkit as kit

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="mounts are Linux here")
PACK = "org.example.small"


def _mount(target: Path, size: str, image: Path) -> list[str]:
    tried = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
                           capture_output=True, text=True)
    if tried.returncode == 0:
        return []
    image_made = subprocess.run(
        f"truncate -s {size.replace('m', 'M')} {image} && mkfs.ext4 -q {image} && "
        f"mount -o loop {image} {target}", shell=True, capture_output=True, text=True)
    if image_made.returncode == 0:
        return []
    pytest.fail(f"Cannot make a small filesystem: tmpfs: {tried.stderr.strip()}; "
                f"loop image: {image_made.stderr.strip()}. These tests need root "
                "(or CAP_SYS_ADMIN) to mount one.")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "disk"
    target.mkdir()
    _mount(target, "4m", tmp_path / "disk.img")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


@pytest.fixture
def small_packs(tmp_path: Path) -> tuple[Path, Path]:
    factory = PackFactory(tmp_path / "packs", generate_key("Disk Publisher"))
    first = factory.write(factory.spec(pack_id=PACK), sign=False)
    second = factory.write(factory.spec(pack_id=PACK, version="1.1.0",
                                        guide_pages=[f"Page {n}. " + "Text. " * 300
                                                     for n in range(40)]), sign=False)
    return first, second


def _fill(folder: Path) -> Path:
    filler = folder / "filler.bin"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    try:
        while True:  # the last few bytes too
            with filler.open("ab") as out:
                out.write(b"\0" * 512)
    except OSError:
        pass
    return filler


def _one_line_error(done: subprocess.CompletedProcess[str], words: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # a message, not a traceback
    assert words in lines[0], lines[0]


def test_a_full_disk_refuses_installs_and_notes_with_a_message_and_changes_nothing(
    small_disk: Path, small_packs: tuple[Path, Path]
) -> None:
    data = small_disk / "library"
    first, second = small_packs
    assert kit.cli(data, "pack", "install", first, "--allow-unsigned").returncode == 0
    saved = kit.cli(data, "notes", "add", "--pack", PACK, "--doc", "guide",
                    "--quote", "Agree house rules", "--note", "before the disk filled")
    assert saved.returncode == 0, saved.stderr
    before = kit.state(data / kit.STORE)
    filler = _fill(small_disk)

    _one_line_error(kit.cli(data, "pack", "install", second, "--allow-unsigned"), "is full")
    _one_line_error(kit.cli(data, "notes", "add", "--pack", PACK, "--doc", "guide",
                            "--quote", "caption your videos"), "is full")

    # (On a disk this full SQLite cannot even make its shared-memory file to read.)
    filler.unlink()
    assert kit.integrity_problems(data / kit.STORE) == []
    assert kit.state(data / kit.STORE) == before
    # With space again, the same note saves.
    again = kit.cli(data, "notes", "add", "--pack", PACK, "--doc", "guide",
                    "--quote", "caption your videos")
    assert again.returncode == 0, again.stderr
    assert len(kit.notes(data / kit.STORE)) == 2


def test_a_read_only_disk_opens_read_only_and_refuses_writes_with_a_message(
    small_disk: Path, small_packs: tuple[Path, Path]
) -> None:
    data = small_disk / "library"
    assert kit.cli(data, "pack", "install", small_packs[0], "--allow-unsigned").returncode == 0
    before = kit.state(data / kit.STORE)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)

    listed = kit.cli(data, "pack", "list")
    assert listed.returncode == 0, listed.stderr
    assert PACK in listed.stdout
    found = kit.cli(data, "search", "house rules")
    assert found.returncode == 0 and "guide" in found.stdout.lower(), found
    _one_line_error(kit.cli(data, "notes", "add", "--pack", PACK, "--doc", "guide",
                            "--quote", "Agree house rules"), "The library is read-only")
    _one_line_error(kit.cli(data, "pack", "remove", PACK), "nothing can be changed")

    conn = open_store(data / kit.STORE)
    try:
        assert "read-only disk" in (read_only_reason(conn) or "")
    finally:
        conn.close()
    copy = shutil.copytree(data, small_disk.parent / "copy")
    assert kit.state(copy / kit.STORE) == before
