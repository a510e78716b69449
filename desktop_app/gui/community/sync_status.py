"""The status bar's word on comments: "2 comments waiting — offline", "Sending…",
"All sent 2 min ago", "Sign-in needed". Clicking it signs in when that is what is
needed, and syncs otherwise."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QToolButton, QWidget

from desktop_app.core.comments import outbox
from desktop_app.gui.community.sync_worker import SyncOutcome, SyncWorker

AGO_REFRESH_MS = 30_000


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def ago(moment: datetime, now: datetime) -> str:
    seconds = max(0.0, (now - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86_400:
        return f"{int(seconds // 3600)} h ago"
    return moment.astimezone().strftime("on %d %b at %H:%M")


def local_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


def status_text(states: dict[str, int], outcome: SyncOutcome | None, running: bool,
                now: datetime | None = None) -> tuple[str, str, bool]:
    """(text, tooltip, sign-in needed) for the outbox ``states`` (outbox.counts) and
    the last run's ``outcome``."""
    now = now or datetime.now(UTC)
    waiting = states.get("queued", 0) + states.get("sending", 0)
    held = states.get("held", 0)
    report = outcome.report if outcome else None
    tips = [outcome.summary] if outcome and outcome.summary else []
    if report is not None:
        tips += report.problems[:5]
    if running:
        text = "Sending…" if waiting else "Bringing down comments…"
        return text, "\n".join(tips), False
    if waiting and report is not None and report.sign_in_needed:
        sites = ", ".join(sorted(report.sign_in_needed))
        tips.insert(0, f"{plural(waiting, 'comment')} waiting: sign in to {sites} "
                       "(click here) to send them.")
        return "Sign-in needed", "\n".join(tips), True
    if waiting:
        text = f"{plural(waiting, 'comment')} waiting"
        if outcome is not None and outcome.error:
            text += " — sync failed"
        elif report is not None and report.busy:
            text += " — another Casebook is sending them"
        elif report is not None and report.offline:
            text += " — offline"
        elif outcome is not None and outcome.next_due is not None:
            text += f" — next try {local_time(outcome.next_due)}"
        tips.append("Click to try now (F9).")
        return text, "\n".join(tips), False
    if outcome is None:
        return (f"{plural(held, 'comment')} awaiting moderation" if held else "",
                "Click to sync comments now (F9).", False)
    if outcome.error:
        return "Comment sync failed", "\n".join(tips), False
    when = ago(outcome.finished_at, now)
    if states.get("sent", 0) or held:
        text = f"All sent {when}"
        if held:
            text += f" ({held} awaiting moderation)"
    elif report is not None and report.offline:
        text = "Community site offline"
    else:
        text = f"Comments brought down {when}"
    tips.append("Click to sync comments now (F9).")
    return text, "\n".join(tips), False


class SyncStatus(QToolButton):
    """A flat button in the status bar: the text above, and a click that helps."""

    sign_in_requested = Signal(str)  # site url ("" when not known)
    sync_requested = Signal()

    def __init__(self, conn: sqlite3.Connection, worker: SyncWorker,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._conn = conn
        self._worker = worker
        self._needs_sign_in = False
        self.setAutoRaise(True)
        self.setAccessibleName("Comment sync status")
        self.clicked.connect(self._clicked)
        worker.started.connect(self.refresh)
        worker.finished.connect(lambda _outcome: self.refresh())
        worker.progress.connect(self._progress)
        # Only for "2 min ago": the text is recomputed, nothing is synced.
        self._clock = QTimer(self)
        self._clock.setInterval(AGO_REFRESH_MS)
        self._clock.timeout.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        text, tip, self._needs_sign_in = status_text(
            outbox.counts(self._conn), self._worker.last, self._worker.is_running())
        if self._worker.disabled_reason:
            text, tip = "", ""
        self.setText(text)
        self.setToolTip(tip)
        self.setAccessibleDescription(tip)
        self.setVisible(bool(text))
        if "ago" in text:
            self._clock.start()
        else:
            self._clock.stop()

    def _progress(self, message: str) -> None:
        if self._worker.is_running() and not message.startswith("Sending"):
            self.setText(message)

    def _clicked(self) -> None:
        if self._needs_sign_in:
            last = self._worker.last
            sites = sorted(last.report.sign_in_needed) if last and last.report else []
            self.sign_in_requested.emit(sites[0] if sites else "")
        else:
            self.sync_requested.emit()
