"""Composition root of the window: the application, the library, the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop_app.core.errors import CasebookError, StoreCorruptError
from desktop_app.core.library import open_library
from desktop_app.core.store.backups import restore_backup
from desktop_app.core.store.db import read_only_reason
from desktop_app.gui.errors import install_excepthook
from desktop_app.gui.main_window import MainWindow
from desktop_app.paths import AppPaths
from desktop_app.sample import BUNDLED_KEYS


def create_application() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("Casebook")
    app.setApplicationDisplayName("Casebook")
    app.setDesktopFileName("casebook")
    return app


def build_window(paths: AppPaths) -> MainWindow:
    conn = open_library(paths.store_file, BUNDLED_KEYS)
    window = MainWindow(conn, paths)
    window.restore_state()
    reason = read_only_reason(conn)
    if reason:
        window.show_read_only(reason)
    return window


def offer_restore(error: StoreCorruptError, paths: AppPaths) -> bool:
    """The library file is damaged: offer the newest backup; the damaged file is kept."""
    box = QMessageBox(QMessageBox.Icon.Critical, "Casebook", str(error))
    box.setTextFormat(Qt.TextFormat.PlainText)
    restore = (box.addButton("Restore the backup", QMessageBox.ButtonRole.AcceptRole)
               if error.backup else None)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    if restore is None or box.clickedButton() is not restore:
        return False
    aside = restore_backup(paths.store_file, error.backup)
    QMessageBox.information(None, "Casebook", f"The library was restored from {error.backup}. "
                            f"The damaged file is kept as {aside}.")
    return True


def run(paths: AppPaths, files: list[Path], open_doc: tuple[str, str] | None = None) -> int:
    app = create_application()
    install_excepthook()
    try:
        try:
            window = build_window(paths)
        except StoreCorruptError as exc:
            if not offer_restore(exc, paths):
                return 1
            window = build_window(paths)
    except CasebookError as exc:
        QMessageBox.critical(None, "Casebook", str(exc))
        return 1
    window.show()
    if open_doc is not None:
        window.open_document(*open_doc)
    for path in files:
        window.open_path(path)
    code = app.exec()
    window.conn.close()
    return code
