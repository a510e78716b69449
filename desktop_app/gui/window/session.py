"""The reading session kept as it changes, not only at Quit.

Saving only in ``closeEvent`` lost whole sessions: a save that failed there (the
library busy, an exception from one tab) was logged and the window closed anyway, so
the next start showed no tabs, the default theme and no docks. Now the session is
saved a moment after anything in it changes (tabs, reading place, theme, docks), so
Quit, a closed window, a logout (SIGTERM) and even a crash find it already written;
the save at close only adds the last scroll. A save that fails is never silent: it
is logged, shown in the status bar, and at Quit the reader is asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)
SAVE_DELAY_MS = 1500  # a scroll or a burst of tab changes is one save


class SessionKeeper(QObject):
    """Calls ``save`` a moment after ``changed()``; reports failures by ``failed``."""

    failed = Signal(str)  # the reason, in words

    def __init__(self, save: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._save = save
        self._timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save_now)
        self.enabled = True
        self.last_error: str | None = None

    def changed(self) -> None:
        if self.enabled:
            self._timer.start()

    def save_now(self) -> bool:
        """Save at once; False (and ``failed`` emitted) if it could not be saved."""
        self._timer.stop()
        if not self.enabled:
            return True
        try:
            self._save()
        except Exception as exc:  # any failure must reach the reader, not only the log
            log.exception("Saving the reading session failed")
            self.last_error = str(exc) or exc.__class__.__name__
            self.failed.emit(self.last_error)
            return False
        self.last_error = None
        return True
