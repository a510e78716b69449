"""Sync with the community sites on a thread of its own, and deciding when to sync.

A run sends what is due (``deliver`` with ``wait_limit=0``: the thread never sits in
a backoff), asks about comments awaiting moderation, and brings the threads down.
It runs on one Python thread that owns its own store connection, opened with
``open_secondary`` on the same file at the first run and kept until the window closes:
an SQLite connection belongs to the thread that opened it. Everything the thread
reports reaches the window as queued signals, so the window's slots run on the GUI
thread.

When it runs:

- a few seconds after the window opens, *if the reader uses comments* (something
  waits or awaits moderation, a sign-in is saved, or threads were brought down
  before): Casebook makes no network request on its own for a reader who never
  asked for the community features;
- on Sync now (F9), and when the reader signs in;
- a little after a comment is queued, edited or brought back;
- when the network comes back (QNetworkInformation, where a backend exists);
- when the earliest waiting comment's backoff ends: one single-shot timer, never a
  polling loop.

One run at a time: Sync now during a run is refused; a timer that fires during a
run asks for one more run afterwards. Closing the window sets the stop event (which
ends any wait at once) and waits briefly for the thread; a request already on the
wire cannot be interrupted, so the thread is a daemon and the outbox's ``sending``
state lets the next start ask the site what happened.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop_app.core.comments import credentials
from desktop_app.core.errors import CasebookError
from desktop_app.core.store.db import open_secondary

if TYPE_CHECKING:
    from desktop_app.core.comments.sync import SyncReport

log = logging.getLogger(__name__)

STARTUP_DELAY_MS = 4000
AFTER_CHANGE_MS = 5000  # after a comment is queued: a moment to fix a typo first
NETWORK_BACK_MS = 2000  # networks flap as they come up
MIN_DELAY_MS = 1000
STOP_WAIT_SECONDS = 1.5


@dataclass(frozen=True)
class SyncOutcome:
    """What one run did, as the window needs it."""

    report: SyncReport | None  # None when the run failed as a whole (see ``error``)
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    error: str = ""
    next_due: datetime | None = None  # when a run could achieve something again
    stopped: bool = False

    @property
    def summary(self) -> str:
        if self.report is None:
            return self.error
        return self.report.summary()


def pack_sites(conn: sqlite3.Connection) -> list[str]:
    """The community sites named by the installed packs."""
    return [r[0].rstrip("/") for r in conn.execute(
        "SELECT DISTINCT json_extract(manifest, '$.site.url') FROM packs WHERE active = 1 "
        "AND json_extract(manifest, '$.site.url') IS NOT NULL ORDER BY 1")]


def community_in_use(conn: sqlite3.Connection) -> bool:
    """Whether the reader uses the community features, so that syncing on their own
    (at start, when the network comes back) is what the reader expects."""
    if conn.execute("SELECT 1 FROM outbox WHERE state IN ('queued', 'sending', 'held') "
                    "UNION ALL SELECT 1 FROM site_threads LIMIT 1").fetchone():
        return True
    return any(credentials.signed_in_user(conn, site) for site in pack_sites(conn))


class _Bridge(QObject):
    """Carries the thread's events to the GUI thread (queued: the receiver lives there)."""

    event = Signal(str, object)


class SyncWorker(QObject):
    """Runs sync on its thread; ``sync_now`` starts a run unless one is running."""

    started = Signal()
    progress = Signal(str)
    comment_changed = Signal(object)  # OutboxComment
    finished = Signal(object)  # SyncOutcome

    def __init__(self, store_file: Path, conn: sqlite3.Connection,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store_file = store_file
        self._conn = conn  # the window's: only for deciding whether to sync on its own
        self._stop = threading.Event()
        self._jobs: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._running = False
        self._again = False  # a timer fired during a run
        self._disabled = ""
        self.last: SyncOutcome | None = None
        # Parentless, referenced here and by the thread: it must outlive the window
        # while a run finishes.
        self._bridge = _Bridge()
        self._bridge.event.connect(self._on_event)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._timer_fired)
        self._online: bool | None = None
        self._network: QObject | None = None
        # After the first frame: loading the reachability backend (D-Bus to
        # NetworkManager on Linux) is not needed to show the window.
        QTimer.singleShot(0, self, self._watch_network)

    @property
    def watching_network(self) -> bool:
        """Whether the system's reachability reports reach this worker (set up just
        after the window's first frame, and only where a backend exists)."""
        return self._network is not None

    # --- asking for runs ----------------------------------------------------------------
    def is_running(self) -> bool:
        return self._running

    def sync_now(self) -> bool:
        """Start a run now; False when one is already running (or sync is off)."""
        if self._running or self._disabled or self._stop.is_set():
            return False
        self.timer.stop()
        self._running = True
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="casebook-sync",
                                            daemon=True)
            self._thread.start()
        self._jobs.put("sync")
        self.started.emit()
        return True

    def sync_later(self, delay_ms: int) -> None:
        """A run in ``delay_ms`` (or sooner, if one is already planned sooner)."""
        if self._disabled or self._stop.is_set():
            return
        delay_ms = max(0, int(delay_ms))
        if not self.timer.isActive() or self.timer.remainingTime() > delay_ms:
            self.timer.start(delay_ms)

    def start_up(self) -> None:
        """The window opened: sync soon if the reader uses the community features."""
        if community_in_use(self._conn):
            self.sync_later(STARTUP_DELAY_MS)

    def disable(self, reason: str) -> None:
        """No runs at all (a read-only library cannot record what was sent)."""
        self._disabled = reason
        self.timer.stop()

    @property
    def disabled_reason(self) -> str:
        return self._disabled

    def _timer_fired(self) -> None:
        if self._running:
            self._again = True
        elif self._online is False:
            pass  # the network is down: the reachability signal starts the next run
        else:
            self.sync_now()

    # --- the network coming back --------------------------------------------------------
    def _watch_network(self) -> None:
        try:
            from PySide6.QtNetwork import QNetworkInformation
        except ImportError:  # pragma: no cover - QtNetwork ships with PySide6 Essentials
            return
        info = QNetworkInformation.instance()
        if info is None:
            with contextlib.suppress(Exception):
                QNetworkInformation.loadDefaultBackend()
            info = QNetworkInformation.instance()
        if info is None:
            return  # no backend on this system: backoff timers and Sync now still work
        self._online = info.reachability() != QNetworkInformation.Reachability.Disconnected
        info.reachabilityChanged.connect(self._reachability_changed)
        self._network = info

    @Slot(object)
    def _reachability_changed(self, reachability: Any) -> None:
        from PySide6.QtNetwork import QNetworkInformation

        if self._stop.is_set() or self._disabled:
            return
        online = reachability == QNetworkInformation.Reachability.Online
        came_back = online and self._online is not True
        self._online = reachability != QNetworkInformation.Reachability.Disconnected
        if came_back and community_in_use(self._conn):
            self.sync_later(NETWORK_BACK_MS)

    # --- stopping -----------------------------------------------------------------------
    def stop(self, timeout: float = STOP_WAIT_SECONDS) -> bool:
        """Stop for good; True if the thread ended within ``timeout`` seconds."""
        self.timer.stop()
        self._stop.set()
        self._jobs.put(None)
        if self._network is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self._network.reachabilityChanged.disconnect(self._reachability_changed)
            self._network = None
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    # --- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while self._jobs.get() is not None and not self._stop.is_set():
                try:
                    if conn is None:
                        conn = open_secondary(self._store_file)
                    outcome = self._sync(conn)
                except CasebookError as exc:
                    outcome = SyncOutcome(None, error=str(exc))
                except Exception as exc:
                    log.exception("Sync failed")
                    outcome = SyncOutcome(None, error=f"Sync failed unexpectedly ({exc}); the "
                                          "details are in the log file.")
                self._emit("finished", outcome)
        finally:
            if conn is not None:
                conn.close()

    def _sync(self, conn: sqlite3.Connection) -> SyncOutcome:
        stop = self._stop
        self._emit("progress", "Sending…")
        # Here, not at the top: httpx and the sync code load on the first run, not at
        # the window's start.
        from desktop_app.core.comments import sync
        from desktop_app.core.comments.sites import SiteSessions

        with SiteSessions(conn) as sites:
            report = sync.deliver(conn, sites.signed_in, stop=stop, wait_limit=0.0,
                                  on_change=lambda comment: self._emit("comment", comment))
            if not stop.is_set():
                offline = set(report.offline)
                # A site that could not be reached is not asked again this run.
                sync.refresh_held(conn, lambda url: None if url in offline
                                  else sites.signed_in(url))
            if not stop.is_set():
                self._emit("progress", "Bringing down comments…")
                fetched, problems = sync.fetch_threads(
                    conn, sites.signed_in, sites.anonymous, stop=stop, skip=report.offline,
                    progress=lambda done, total: self._emit(
                        "progress", f"Bringing down comments ({done} of {total})…"))
                report.fetched += fetched
                report.problems += problems
        return SyncOutcome(report, next_due=report.next_due, stopped=stop.is_set())

    def _emit(self, kind: str, payload: object) -> None:
        with contextlib.suppress(RuntimeError):  # the application is shutting down
            self._bridge.event.emit(kind, payload)

    # --- back on the GUI thread ---------------------------------------------------------
    @Slot(str, object)
    def _on_event(self, kind: str, payload: object) -> None:
        if kind == "progress":
            self.progress.emit(payload)
        elif kind == "comment":
            self.comment_changed.emit(payload)
        elif kind == "finished":
            assert isinstance(payload, SyncOutcome)
            self._running = False
            self.last = payload
            self._plan_next(payload)
            self.finished.emit(payload)

    def _plan_next(self, outcome: SyncOutcome) -> None:
        if self._stop.is_set() or self._disabled:
            return
        delays = []
        if self._again:
            self._again = False
            delays.append(MIN_DELAY_MS)
        if outcome.next_due is not None:
            wait = (outcome.next_due - datetime.now(UTC)).total_seconds() * 1000
            delays.append(max(MIN_DELAY_MS, wait))
        if delays:
            self.sync_later(int(min(delays)))
