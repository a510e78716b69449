"""Run the real CLI on a LazyFS mount and cut the power part-way: the filesystem
freezes at a chosen change or sync, the process is killed while it waits there, and
every write not yet made durable is thrown away.

Whether the cut fell inside a write transaction is read from the kernel's lock table
while the process is stopped: SQLite holds a write lock on byte 120 of the ``-shm`` file
for a WAL transaction (WAL_WRITE_LOCK), and on byte 0x40000001 of the database for a
rollback-journal one (RESERVED_BYTE, as in a backup copy being written).
"""

from __future__ import annotations

import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability import crashkit as kit
from tests.reliability.lazyfs import LazyMount

WAL_WRITE_LOCK = 120
RESERVED_BYTE = 0x40000001


@dataclass(frozen=True)
class Cut:
    finished: bool  # the command had exited before the power went
    returncode: int
    stdout: str
    in_transaction: bool
    lost: dict = field(default_factory=dict)  # what LazyFS threw away, and its steps


def run_and_cut(backing: Path, mountpoint: Path, args: tuple[str | Path, ...], at_step: int,
                env: dict[str, str] | None = None) -> Cut:
    """Mount LazyFS over ``backing``, run ``casebook --data-dir MOUNTPOINT ARGS``, and cut
    the power at its ``at_step``-th change or sync to the disk (that one is lost), or
    right after it exits if it makes fewer. The backing folder is then what the disk
    holds after the cut."""
    mount = LazyMount(backing, mountpoint, freeze_at=at_step)
    process = subprocess.Popen(kit._command(mountpoint, args), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, cwd=kit.ROOT,
                               env=kit._env(env))
    exited = threading.Event()
    output: list[str] = []

    def wait_for_exit() -> None:
        output.append(process.communicate(timeout=300)[0])
        exited.set()
        mount.frozen.set()  # wakes the wait below either way

    threading.Thread(target=wait_for_exit, daemon=True).start()
    mount.frozen.wait()
    # The process now waits on the frozen filesystem (or has exited): what it holds
    # is read while it cannot move.
    in_transaction = not exited.is_set() and holds_write_lock(process.pid)
    if not exited.is_set():
        process.kill()
    mount.cut()
    exited.wait()
    lost = mount.unmount()
    return Cut(process.returncode != -signal.SIGKILL, process.returncode, output[0],
               in_transaction, lost)


def run_to_end(backing: Path, mountpoint: Path, args: tuple[str | Path, ...],
               env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, int]:
    """The command on the mount with the power kept on, unmounted cleanly after; and the
    number of changes and syncs it made (the range of :func:`run_and_cut`'s steps)."""
    mount = LazyMount(backing, mountpoint)
    done = subprocess.run(kit._command(mountpoint, args), capture_output=True, text=True,
                          cwd=kit.ROOT, env=kit._env(env), timeout=300)
    return done, mount.unmount()["steps"]


def holds_write_lock(pid: int) -> bool:
    """Whether ``pid`` holds an SQLite write lock (WAL or rollback journal) on any file."""
    with open("/proc/locks") as table:
        for line in table:
            # "1: POSIX  ADVISORY  WRITE 4242 00:2e:1234 120 120"
            fields = line.split()
            if "->" in fields:
                continue  # a waiter, not a holder
            if len(fields) >= 8 and fields[3] == "WRITE" and fields[4] == str(pid):
                first = int(fields[6])
                last = int(fields[7]) if fields[7] != "EOF" else 1 << 62
                if any(first <= byte <= last for byte in (WAL_WRITE_LOCK, RESERVED_BYTE)):
                    return True
    return False
