"""Opening the real main window in tests, as a reader would find it."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from desktop_app.gui.app import build_window
from desktop_app.gui.reader.document_tab import DocumentTab
from desktop_app.gui.window.main_window import MainWindow
from desktop_app.paths import AppPaths

PACK = "org.casebook.sample.local-by-social"


def open_window(qtbot: QtBot, paths: AppPaths) -> MainWindow:
    win = build_window(paths)
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitExposed(win)
    return win


def open_guide(qtbot: QtBot, win: MainWindow) -> DocumentTab:
    tab = win.open_document(PACK, "guide")
    assert tab is not None
    qtbot.waitUntil(lambda: tab.view.page_count() > 0, timeout=10_000)
    return tab
