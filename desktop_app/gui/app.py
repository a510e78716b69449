"""Composition root of the window: the application, the library, the main window."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop_app.gui.reader.pdf.render_service import RenderService

if TYPE_CHECKING:
    from desktop_app.core.errors import StoreCorruptError
    from desktop_app.gui.window.main_window import MainWindow
    from desktop_app.paths import AppPaths

# The render service's key for a PDF given on the command line, opened before the
# window is built; the window's tab for that file takes it over.
STARTUP_PDF_KEY = "file-startup"


def create_application() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("Casebook")
    app.setApplicationDisplayName("Casebook")
    app.setDesktopFileName("casebook")
    return app


def build_window(paths: AppPaths, render_service: RenderService | None = None) -> MainWindow:
    from desktop_app.core.library import open_library
    from desktop_app.core.store.db import read_only_reason
    from desktop_app.gui.window.main_window import MainWindow
    from desktop_app.sample import BUNDLED_KEYS

    conn = open_library(paths.store_file, BUNDLED_KEYS)
    window = MainWindow(conn, paths, render_service)
    window.restore_state()
    reason = read_only_reason(conn)
    if reason:
        window.show_read_only(reason)
    return window


def offer_restore(error: StoreCorruptError, paths: AppPaths) -> bool:
    """The library file is damaged: offer the newest backup; the damaged file is kept."""
    from desktop_app.core.store.backups import restore_backup

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


class EarlyStart(NamedTuple):
    """The application and the render worker, started before anything else is loaded."""

    app: QApplication
    service: RenderService
    startup_pdf: Path | None


def start_early(files: list[Path]) -> EarlyStart:
    """The QApplication, then the render worker (a Python with PyMuPDF: ~0.13 s to
    start), and the first PDF among ``files`` opened in it at once: the worker works on
    the other core while the window's modules load, and page 1 is ready for the first
    frame. Call it first; everything else can wait."""
    app = create_application()
    service = RenderService()
    startup_pdf = next((f for f in files if f.suffix.lower() == ".pdf" and f.is_file()), None)
    if startup_pdf is not None:
        service.open_document(STARTUP_PDF_KEY, startup_pdf)
    service.send_now()
    return EarlyStart(app, service, startup_pdf)


def run(paths: AppPaths, files: list[Path], open_doc: tuple[str, str] | None = None,
        early: EarlyStart | None = None) -> int:
    app, service, startup_pdf = early or start_early(files)
    from desktop_app.core.errors import CasebookError, StoreCorruptError
    from desktop_app.gui.errors import install_excepthook
    from desktop_app.gui.window.shutdown import close_on_termination

    install_excepthook()
    try:
        try:
            window = build_window(paths, service)
        except StoreCorruptError as exc:
            if not offer_restore(exc, paths):
                return 1
            window = build_window(paths, service)
    except CasebookError as exc:
        QMessageBox.critical(None, "Casebook", str(exc))
        return 1
    window.show()
    close_on_termination(window)  # a logout saves the reading position too
    if open_doc is not None:
        window.open_document(*open_doc)
    for path in files:
        window.open_path(path, view_key=STARTUP_PDF_KEY if path == startup_pdf else None)
    if startup_pdf is not None:
        service.close_document(STARTUP_PDF_KEY)  # the tab holds it now, if it was shown
    code = app.exec()
    window.conn.close()
    return code
