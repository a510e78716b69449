"""One delivery at a time per library, across processes.

The window's sync worker and a ``casebook sync`` in a terminal share one outbox; if
both sent the same queued comment at the same moment, WordPress's racy duplicate
check could store it twice. A run therefore holds a lease in the store while it
sends: taken in one BEGIN IMMEDIATE transaction, renewed before each comment, and
left to expire if its process dies (no stale lock to clear by hand).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid as uuid_module

from desktop_app.core.store.db import transaction

KEY = "comments.delivery-lease"
SECONDS = 120.0  # longer than any one request's timeouts


class Lease:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid_module.uuid4().hex[:8]}"
        self.held = False

    def take(self) -> bool:
        """Take or renew the lease; False while another run holds it."""
        now = time.time()
        with transaction(self.conn):
            row = self.conn.execute("SELECT value FROM settings WHERE key = ?",
                                    (KEY,)).fetchone()
            if row is not None:
                current = json.loads(row[0])
                if (current.get("owner") != self.owner and current.get("until", 0) > now
                        and _alive(str(current.get("owner", "")))):
                    return False
            self.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value",
                (KEY, json.dumps({"owner": self.owner, "until": now + SECONDS})))
        self.held = True
        return True

    def release(self) -> None:
        if not self.held:
            return
        with transaction(self.conn):
            self.conn.execute("DELETE FROM settings WHERE key = ? AND "
                              "json_extract(value, '$.owner') = ?", (KEY, self.owner))
        self.held = False


def _alive(owner: str) -> bool:
    """Whether the process holding the lease may still be running (a killed ``casebook
    sync`` must not block the next one for two minutes). Unsure means alive."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if os.name == "nt":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # os.kill(pid, 0) would terminate it there
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
