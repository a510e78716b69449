"""A FUSE filesystem that forgets, on a "power cut", everything not yet made durable.

The approach of LazyFS (Ramos et al., found such bugs in PostgreSQL, etcd, Redis...),
with the strict POSIX rules rather than one disk's kindness:

* a file's data and size become durable at its ``fsync``/``fdatasync``;
* a directory's entries (files created, renamed in or out, unlinked) become durable at
  an ``fsync`` of that directory, and only then: a new file whose data was synced but
  whose folder was not is gone after the cut; a renamed file is back under its old name.

It is a passthrough over a *backing* folder, so the processes under test make real
system calls through the kernel (SQLite's locks, its mmap'd ``-shm``, renames), and it
runs as its own process (``python -m tests.reliability.lazyfs BACKING MOUNTPOINT``).
Everything passes through at once; what is volatile is kept as *undo*: the bytes each
write overwrote since the file's last sync (first pre-image per 4 KiB block) and the
file's durable size; and for each folder changed since its last sync, its durable
listing (name -> inode). Unlinked or replaced files are kept alive in a ``limbo``
folder beside the backing one, since a cut can bring their names back.

Send ``cut`` on the daemon's stdin, then unmount: the daemon rebuilds the backing
folder as the disk would hold it after losing power (hard links keep every inode, then
the undo is written back), prints a JSON summary of what was thrown away, and exits.
Unmounted without ``cut``, it keeps everything (a clean shutdown flushes all).

Not modelled: metadata other than names and sizes (modes, times), and torn sectors
within one write (a write either lands whole or not at all).
"""

from __future__ import annotations

import errno
import json
import os
import queue
import shutil
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

BLOCK = 4096


@dataclass
class FileUndo:
    """What a file held at its last sync: its size and the blocks overwritten since."""

    durable_size: int
    blocks: dict[int, bytes] = field(default_factory=dict)


class LazyFS:
    """The filesystem operations (mfusepy calls them by these names)."""

    use_ns = True

    def __init__(self, backing: Path, limbo: Path, freeze_at: int | None = None) -> None:
        self.root = str(backing)
        self.limbo = limbo
        self.undo: dict[int, FileUndo] = {}  # inode -> its durable data
        self.listings: dict[int, dict[str, int]] = {}  # folder inode -> its durable entries
        self.cut = False
        self.steps = 0  # changes and syncs so far, the -shm's aside
        self.freeze_at = freeze_at
        self.power_off = threading.Event()
        self._limbo_count = 0
        self._names: dict[int, str] = {}  # open file handle -> path

    def _step(self, path: str | None, fh: int | None = None) -> None:
        """Count one change or sync; the ``freeze_at``-th one waits for the cut, and is
        lost with it. The -shm's are not counted: the kernel writes its mmap'd pages
        back whenever it likes, and SQLite rebuilds it from the WAL after a crash."""
        if (path or self._names.get(fh, "")).endswith("-shm"):
            return
        self.steps += 1
        if self.freeze_at is not None and self.steps >= self.freeze_at and not self.cut:
            print("frozen", flush=True)
            self.power_off.wait()
        if self.cut:
            raise OSError(errno.EIO, "the power is off")

    # --- Paths and the volatile record ------------------------------------------------

    def _full(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def _note_folder_change(self, path: str) -> None:
        """Keep the durable listing of the folder holding ``path`` before it changes."""
        folder = os.path.dirname(self._full(path))
        ino = os.lstat(folder).st_ino
        if ino not in self.listings:
            self.listings[ino] = _listing(folder)

    def _to_limbo(self, full: str) -> None:
        # The inode must outlive its name: a cut may bring the name back.
        self._limbo_count += 1
        os.rename(full, self.limbo / str(self._limbo_count))

    def _keep_before_write(self, fd: int, start: int, end: int) -> None:
        """Save the durable bytes that a write or truncation over [start, end) destroys."""
        ino = os.fstat(fd).st_ino
        undo = self.undo.get(ino)
        if undo is None:
            undo = self.undo[ino] = FileUndo(os.fstat(fd).st_size)
        end = min(end, undo.durable_size)
        for block in range(start // BLOCK, (end + BLOCK - 1) // BLOCK if end > start else 0):
            if block not in undo.blocks:
                offset = block * BLOCK
                undo.blocks[block] = os.pread(fd, min(BLOCK, undo.durable_size - offset), offset)

    # --- File data ---------------------------------------------------------------------

    def getattr(self, path: str | None, fh: int | None = None) -> dict[str, int]:
        st = os.fstat(fh) if path is None and fh is not None else os.lstat(self._full(path))
        attrs = {key: getattr(st, key) for key in (
            "st_mode", "st_ino", "st_nlink", "st_uid", "st_gid", "st_size", "st_blocks")}
        attrs.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
        return attrs

    def init(self, path: str) -> None:
        print("mounted", flush=True)  # the test waits for this line

    def open(self, path: str, flags: int) -> int:
        fd = os.open(self._full(path), _backing_flags(flags))
        self._names[fd] = path
        if flags & os.O_TRUNC:
            self.truncate(path, 0, fd)
        return fd

    def create(self, path: str, mode: int, flags: int) -> int:
        full = self._full(path)
        if os.path.lexists(full):
            return self.open(path, flags)
        self._step(path)
        self._note_folder_change(path)
        fd = os.open(full, _backing_flags(flags) | os.O_CREAT, mode)
        self._names[fd] = path
        return fd

    def read(self, path: str | None, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str | None, data: bytes, offset: int, fh: int) -> int:
        self._step(path, fh)
        self._keep_before_write(fh, offset, offset + len(data))
        return os.pwrite(fh, data, offset)

    def truncate(self, path: str | None, length: int, fh: int | None = None) -> int:
        self._step(path, fh)
        fd = fh if fh is not None else os.open(self._full(path), os.O_RDWR)
        try:
            self._keep_before_write(fd, length, os.fstat(fd).st_size)
            os.ftruncate(fd, length)
        finally:
            if fh is None:
                os.close(fd)
        return 0

    def fsync(self, path: str | None, datasync: int, fh: int) -> int:
        self._step(path, fh)
        self.undo.pop(os.fstat(fh).st_ino, None)
        os.fsync(fh)
        return 0

    def flush(self, path: str | None, fh: int) -> int:
        return 0

    def release(self, path: str | None, fh: int) -> int:
        self._names.pop(fh, None)
        os.close(fh)
        return 0

    # --- Folders -----------------------------------------------------------------------

    def readdir(self, path: str, fh: int) -> list[tuple[str, dict[str, int], int]]:
        # With use_ino each entry needs its inode: readdir() skips entries of inode 0.
        full = self._full(path)
        entries = [(".", os.lstat(full)), ("..", os.lstat(os.path.dirname(full)))]
        entries += [(e.name, e.stat(follow_symlinks=False)) for e in os.scandir(full)]
        return [(name, {"st_mode": st.st_mode, "st_ino": st.st_ino}, 0)
                for name, st in entries]

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        self._step(path)
        self.listings.pop(os.lstat(self._full(path)).st_ino, None)
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        self._step(path)
        self._note_folder_change(path)
        os.mkdir(self._full(path), mode)
        return 0

    def rmdir(self, path: str) -> int:
        self._step(path)
        full = self._full(path)
        if os.listdir(full):
            raise OSError(errno.ENOTEMPTY, path)
        self._note_folder_change(path)
        self._to_limbo(full)
        return 0

    def unlink(self, path: str) -> int:
        self._step(path)
        self._note_folder_change(path)
        self._to_limbo(self._full(path))
        return 0

    def rename(self, old: str, new: str) -> int:
        self._step(new)
        self._note_folder_change(old)
        self._note_folder_change(new)
        target = self._full(new)
        if os.path.lexists(target):
            if os.path.isdir(target) and not os.path.islink(target):
                self._to_limbo(target)
            else:
                self._limbo_count += 1
                os.link(target, self.limbo / str(self._limbo_count), follow_symlinks=False)
        os.rename(self._full(old), target)
        return 0

    def symlink(self, target: str, source: str) -> int:
        self._step(target)
        self._note_folder_change(target)
        os.symlink(source, self._full(target))
        return 0

    def readlink(self, path: str) -> str:
        return os.readlink(self._full(path))

    def link(self, target: str, source: str) -> int:
        self._step(target)
        self._note_folder_change(target)
        os.link(self._full(source), self._full(target))
        return 0

    # --- Metadata (passed through, not modelled) ----------------------------------------

    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._full(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self._full(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        os.utime(self._full(path), ns=times)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        sv = os.statvfs(self._full(path))
        return {key: getattr(sv, key) for key in (
            "f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree",
            "f_favail", "f_namemax")}

    # --- The power cut -----------------------------------------------------------------

    def lose_power(self) -> dict[str, list[str]]:
        """Make the backing folder what a disk would hold after the cut (call unmounted)."""
        root = Path(self.root)
        where = {st_ino: path for st_ino, path in _inodes(root, self.limbo)}
        rebuilt = root.with_name(root.name + ".rebuilt")
        if rebuilt.exists():
            shutil.rmtree(rebuilt)
        entries_reverted = []
        for ino, durable in self.listings.items():
            if ino in where:
                current = _listing(str(where[ino]))
                rel = os.path.relpath(where[ino], root) if where[ino].is_relative_to(root) else "?"
                entries_reverted += {os.path.join(rel, name) for name, _ in
                                     set(current.items()) ^ set(durable.items())}
        _rebuild(where, root.stat().st_ino, rebuilt, self.listings)
        unsynced = []
        for ino, undo in self.undo.items():
            path = where.get(ino)
            if path is None:
                continue
            with open(path, "r+b") as handle:
                size_changed = os.fstat(handle.fileno()).st_size != undo.durable_size
                for block, data in undo.blocks.items():
                    handle.seek(block * BLOCK)
                    handle.write(data)
                handle.truncate(undo.durable_size)
            if undo.blocks or size_changed:
                unsynced.append(os.path.relpath(path, root) if path.is_relative_to(root)
                                else f"(unlinked) {path.name}")
        shutil.rmtree(root)
        rebuilt.rename(root)
        return {"unsynced_files": sorted(unsynced), "entries_reverted": sorted(entries_reverted)}


def _backing_flags(flags: int) -> int:
    # Read access is needed to keep the bytes a write destroys; the kernel has already
    # turned O_APPEND into offsets, and O_TRUNC is done by truncate() to keep the undo.
    flags &= ~(os.O_TRUNC | os.O_APPEND | os.O_CREAT | os.O_EXCL)
    if flags & os.O_ACCMODE == os.O_WRONLY:
        flags = (flags & ~os.O_ACCMODE) | os.O_RDWR
    return flags


def _listing(folder: str) -> dict[str, int]:
    return {entry.name: entry.inode() for entry in os.scandir(folder)}


def _inodes(*roots: Path) -> list[tuple[int, Path]]:
    found = []
    for top in roots:
        found.append((top.stat().st_ino, top))
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                path = Path(folder, name)
                found.append((path.lstat().st_ino, path))
    return found[::-1]  # the first path found for an inode wins in dict()


def _rebuild(where: dict[int, Path], folder_ino: int, out: Path,
             listings: dict[int, dict[str, int]]) -> None:
    """Lay out under ``out`` the durable tree of the folder ``folder_ino``: its durable
    listing if it changed since its last sync, else its current one."""
    out.mkdir(mode=stat.S_IMODE(where[folder_ino].stat().st_mode))
    entries = (listings[folder_ino] if folder_ino in listings
               else _listing(str(where[folder_ino])))
    for name, ino in entries.items():
        source = where.get(ino)
        if source is None:
            continue
        if source.is_symlink():
            os.symlink(os.readlink(source), out / name)
        elif source.is_dir():
            _rebuild(where, ino, out / name, listings)
        else:
            os.link(source, out / name)


def main(argv: list[str]) -> int:
    from mfusepy import FUSE

    backing, mountpoint = Path(argv[0]), argv[1]
    freeze_at = int(argv[2]) if len(argv) > 2 else None
    limbo = backing.with_name(backing.name + ".limbo")
    shutil.rmtree(limbo, ignore_errors=True)
    limbo.mkdir()
    fs = LazyFS(backing, limbo, freeze_at)

    def commands() -> None:
        for line in sys.stdin:
            if line.strip() == "cut":
                fs.cut = True
                fs.power_off.set()
                print("cutting", flush=True)

    threading.Thread(target=commands, daemon=True).start()
    # hard_remove: unlink really unlinks (no .fuse_hidden files); use_ino: real inode
    # numbers, as the product's clean-close marker records them.
    FUSE(fs, mountpoint, foreground=True, nothreads=True, hard_remove=True, use_ino=True,
         fsname="lazyfs")
    summary = fs.lose_power() if fs.cut else {"unsynced_files": [], "entries_reverted": []}
    summary["steps"] = fs.steps
    shutil.rmtree(limbo, ignore_errors=True)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# --- The test's side ------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def unavailable_reason() -> str | None:
    """Why a LazyFS cannot be mounted here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return "the power-cut filesystem needs Linux FUSE"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse is missing or not usable (Debian package fuse3, and a kernel with FUSE)"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is missing (Debian package fuse3)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:  # OSError: libfuse3 itself is missing
        return f"the FUSE binding cannot be loaded ({exc}; pip install mfusepy, apt fuse3)"
    return None


def require_fuse() -> None:
    """Skip the calling test without FUSE here; fail it under CI (``CI`` or
    ``CASEBOOK_REQUIRE_FUSE`` set), where the power-cut tests must run."""
    import pytest

    reason = unavailable_reason()
    if reason is None:
        return
    required = any(os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")
                   for name in ("CI", "CASEBOOK_REQUIRE_FUSE"))
    if required:
        pytest.fail(f"the power-cut tests need FUSE: {reason}", pytrace=False)
    pytest.skip(reason)


class LazyMount:
    """One mount of LazyFS over ``backing`` at ``mountpoint``, in its own process.

    With ``freeze_at=N`` the N-th change or sync (see ``LazyFS._step``) waits for the
    cut, and ``frozen`` (an Event) is set when it is reached.
    """

    def __init__(self, backing: Path, mountpoint: Path, freeze_at: int | None = None) -> None:
        self.backing = backing
        self.mountpoint = mountpoint
        self.frozen = threading.Event()
        mountpoint.mkdir(parents=True, exist_ok=True)
        extra = [] if freeze_at is None else [str(freeze_at)]
        self._daemon = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.lazyfs", str(backing), str(mountpoint),
             *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=ROOT)
        if self._daemon.stdout.readline().strip() != "mounted":
            _, err = self._daemon.communicate(timeout=60)
            raise RuntimeError(f"LazyFS did not mount: {err[-2000:]}")
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_daemon, daemon=True).start()

    def _read_daemon(self) -> None:
        for line in self._daemon.stdout:
            if line.strip() == "frozen":
                self.frozen.set()
            else:
                self._lines.put(line.strip())

    def cut(self) -> None:
        """The power goes: every change from now on fails, the frozen one included (a
        killed process waiting on it can only die once it is answered)."""
        self._daemon.stdin.write("cut\n")
        self._daemon.stdin.flush()
        assert self._lines.get(timeout=60) == "cutting"

    def unmount(self) -> dict:
        """Unmount; after :meth:`cut`, the backing folder is then what the disk holds.
        Returns what was thrown away, and the count of steps (changes and syncs)."""
        subprocess.run(["fusermount3", "-u", str(self.mountpoint)], check=True,
                       capture_output=True, timeout=60)
        err = self._daemon.stderr.read()
        if self._daemon.wait(timeout=120) != 0:
            raise RuntimeError(f"LazyFS failed: {err[-2000:]}")
        return json.loads(self._lines.get(timeout=60))
