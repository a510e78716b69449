"""The window closes as File › Quit does when it is asked to stop from outside.

Logging out or shutting down sends SIGTERM (SIGHUP when the terminal that started
Casebook goes), and Ctrl+C in that terminal SIGINT. By default each of them ends the
process at once: the open tabs and reading positions since the last start were lost,
and the library, not closed cleanly, was checked page by page at the next start.

Python runs its signal handlers only between bytecodes, and the GUI thread sits in
Qt's event loop, in C++, for as long as nobody touches the window; so the signal is
passed through a socket Qt watches (``signal.set_wakeup_fd``), and the window is
closed from the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket

from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP")
                if hasattr(signal, name))


_TERMINATING = "casebookTerminating"


def shutdown_requested(window: QWidget) -> bool:
    """True while ``window`` is being closed by a signal (logout, Ctrl+C)."""
    return bool(window.property(_TERMINATING))


def close_on_termination(window: QWidget) -> None:
    """Close ``window`` (saving what its closeEvent saves) on SIGTERM, SIGINT or SIGHUP."""
    receive, send = socket.socketpair()
    receive.setblocking(False)
    send.setblocking(False)
    try:
        signal.set_wakeup_fd(send.fileno(), warn_on_full_buffer=False)
        for number in SIGNALS:
            # The handler itself does nothing: the byte on the socket is the message.
            signal.signal(number, lambda _number, _frame: None)
    except ValueError:  # not the main thread (an embedding test): keep the defaults
        receive.close()
        send.close()
        return
    notifier = QSocketNotifier(receive.fileno(), QSocketNotifier.Type.Read, window)

    def stop() -> None:
        with contextlib.suppress(OSError):
            received = receive.recv(64)
            log.info("Closing on signal %s", ", ".join(str(b) for b in received))
        notifier.setEnabled(False)
        window.setProperty(_TERMINATING, True)  # no question asked: nobody may be there
        window.close()

    notifier.activated.connect(stop)
    window.destroyed.connect(lambda: _stop_listening(receive, send))


def _stop_listening(receive: socket.socket, send: socket.socket) -> None:
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    receive.close()
    send.close()
