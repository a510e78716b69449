"""Qt helpers shared by the GUI benchmarks and their child probes.

Timestamps are taken in Qt callbacks (signal slots, event filters), never in the loops
that wait for them, so how often a wait checks its condition does not change a figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtWidgets import QWidget


def wait_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Run the event loop until ``predicate()`` holds or the time is up; whether it holds.

    The condition is checked every 2 ms by a timer, not in a busy loop: the GUI thread
    must stay free to paint, and the render worker needs the other core.
    """
    if predicate():
        return True
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s

    def check() -> None:
        if predicate() or time.perf_counter() > deadline:
            loop.quit()

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(2)
    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    return predicate()


def pause(seconds: float) -> None:
    """Let the event loop run (paint, read pipes) for a while."""
    loop = QEventLoop()
    QTimer.singleShot(max(0, round(seconds * 1000)), loop.quit)
    loop.exec()


class PaintWatch(QObject):
    """When does a widget finish the first paint that happens once a condition holds?

    ``arm(condition)`` starts watching; the next Paint event of the widget with
    ``condition()`` true is the one that draws what we wait for. The time is taken
    just after that paint, in a zero timer: Qt paints every dirty widget of the window
    and flushes the backing store to the screen in one event, and the zero timer runs
    only when that event is done, so the figure includes the flush.
    """

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._widget = widget
        self._condition: Callable[[], bool] | None = None
        self.painted_at: float | None = None
        widget.installEventFilter(self)

    def arm(self, condition: Callable[[], bool]) -> None:
        self._condition, self.painted_at = condition, None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self._widget and event.type() == QEvent.Type.Paint
                and self._condition is not None and self._condition()):
            self._condition = None
            QTimer.singleShot(0, self._done)
        return False

    def _done(self) -> None:
        self.painted_at = time.perf_counter()
