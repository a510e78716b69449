"""Child processes of the GUI benchmarks: each runs one window and prints one result.

    python -m benchmarks.gui_probe startup DATA_DIR        Casebook, as `casebook` starts it
    python -m benchmarks.gui_probe bare                     a bare PySide6 window (baseline)
    python -m benchmarks.gui_probe memory DATA_DIR PACK DOC TURNS...

The parent puts its wall-clock time in ``CASEBOOK_BENCH_T0`` just before it starts the
process, so start-up figures include creating the process and starting Python. The
result is one line on stdout: ``BENCH {json}``.

Only the standard library is imported at the top: a start-up probe must import what
the measured program imports, in its order, and nothing more.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for the type checker: Qt is imported by each probe, in its order
    from PySide6.QtWidgets import QWidget

    from desktop_app.gui.window.main_window import MainWindow
    from desktop_app.paths import AppPaths

T0_ENV = "CASEBOOK_BENCH_T0"
RESULT_PREFIX = "BENCH "
# The bare window has the size of Casebook's first window (MainWindow.restore_state),
# so both first frames allocate and flush the same number of pixels.
WINDOW_SIZE = (1200, 800)


def _since_start() -> float:
    return time.time() - float(os.environ[T0_ENV])


PYTHON_READY_S = _since_start() if T0_ENV in os.environ else None


def _report(result: dict) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process in MB (Linux), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# --- start-up ---------------------------------------------------------------------


def startup_casebook(data_dir: str) -> None:
    """Start Casebook exactly as ``casebook --data-dir DIR`` does (``__main__.main``), and
    stop at the first frame that shows the library with its rows.

    The app is not changed for this: ``build_window``, which ``run()`` calls, is wrapped
    so the library's viewport gets an event filter as soon as the window exists.
    """
    import desktop_app.gui.app as gui_app

    build_window = gui_app.build_window

    def build_and_watch(paths: AppPaths, *args: Any) -> MainWindow:
        window = build_window(paths, *args)
        _keep_library_as_it_was(window)
        library = window.library
        _quit_after_first_paint(library.viewport(), lambda: library.topLevelItemCount() > 0,
                                lambda: {"rows": library.topLevelItemCount()})
        return window

    gui_app.build_window = build_and_watch
    from desktop_app.__main__ import main

    main(["--data-dir", data_dir])


def startup_bare() -> None:
    """The floor: PySide6 with one QLabel in a window of the same size, same method."""
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication(sys.argv[:1])
    label = QLabel("Casebook")
    label.resize(*WINDOW_SIZE)
    _quit_after_first_paint(label, lambda: True, dict)
    label.show()
    app.exec()


def _quit_after_first_paint(widget: QWidget, ready: Callable[[], bool],
                            extra: Callable[[], dict[str, Any]]) -> None:
    """Report the time just after the first paint of ``widget`` with ``ready()`` true
    (the zero timer runs once that paint has been flushed), then quit."""
    from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def __init__(self) -> None:
            super().__init__(widget)
            self.seen = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if not self.seen and event.type() == QEvent.Type.Paint and ready():
                self.seen = True
                QTimer.singleShot(0, self.done)
            return False

        def done(self) -> None:
            _report({"first_paint_s": _since_start(), "python_ready_s": PYTHON_READY_S,
                     "rss_mb": rss_mb(os.getpid()), **extra()})
            QCoreApplication.quit()

    widget.installEventFilter(FirstPaint())


def _keep_library_as_it_was(window: MainWindow) -> None:
    """Qt 6's quit() closes the windows, and MainWindow.closeEvent saves the window
    state (its open tabs too) into the store: the next run would start differently."""
    window.save_state = lambda: None  # type: ignore[method-assign]


# --- memory -----------------------------------------------------------------------


def memory(data_dir: str, pack_id: str, doc_id: str, checkpoints: list[int]) -> None:
    """The real window with one PDF open: resident memory of the GUI process and of the
    render worker after each checkpoint's number of page turns (next page, drawn)."""
    from benchmarks.gui_qt import PaintWatch, wait_until
    from desktop_app.gui.app import build_window, create_application
    from desktop_app.paths import resolve_paths

    app = create_application()
    window = build_window(resolve_paths(data_dir))
    _keep_library_as_it_was(window)
    window.show()
    tab = window.open_document(pack_id, doc_id)
    if tab is None:
        raise SystemExit(f"{pack_id}/{doc_id} did not open")
    view, service = tab.view, window.render_service
    watch = PaintWatch(view.viewport())
    samples: list[dict] = []

    def turn_to(page: int) -> None:
        watch.arm(lambda: service.cached(view.doc_key(), page, view._render_scale()) is not None)
        view.go_to_page(page)
        if not wait_until(lambda: watch.painted_at is not None, 15):
            raise SystemExit(f"page {page + 1} was not drawn in 15 s")

    def sample(turns: int) -> None:
        samples.append({"turns": turns, "gui_rss_mb": rss_mb(os.getpid()),
                        "worker_rss_mb": rss_mb(service.worker_pid()),
                        "cache_mb": service.cache.size_bytes / 2**20,
                        "cached_pages": len(service.cache)})

    if not wait_until(lambda: view.info() is not None, 15):
        raise SystemExit("the PDF did not open")
    turn_to(0)
    sample(0)
    done = 0
    for target in checkpoints:
        while done < target:
            done += 1
            turn_to(done)
        sample(done)
    _report({"samples": samples, "render_scale": view._render_scale(),
             "viewport": [view.viewport().width(), view.viewport().height()],
             "cache_limit_mb": service.cache.limit_bytes / 2**20,
             "worker_pid": service.worker_pid()})
    app.quit()


def main(argv: list[str]) -> int:
    mode, args = argv[0], argv[1:]
    if mode == "startup":
        startup_casebook(args[0])
    elif mode == "bare":
        startup_bare()
    elif mode == "memory":
        memory(args[0], args[1], args[2], [int(n) for n in args[3:]])
    else:
        raise SystemExit(f"unknown probe {mode!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
