"""Errors in one place: the core's typed errors in plain words, anything else logged
and shown with details the user can copy into a report."""

from __future__ import annotations

import logging
import platform
import sys
import traceback
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop_app import __version__
from desktop_app.core.errors import CasebookError

log = logging.getLogger(__name__)


def show_error(parent: QWidget | None, error: BaseException | str, title: str = "Casebook"
               ) -> None:
    """Show an error; a CasebookError's message is already written for the reader."""
    if isinstance(error, CasebookError | str):
        box = QMessageBox(QMessageBox.Icon.Warning, title, str(error),
                          QMessageBox.StandardButton.Ok, parent)
        box.setTextFormat(Qt.TextFormat.PlainText)  # messages quote pack contents
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal, not blocking
        return
    show_unexpected(parent, type(error), error, error.__traceback__)


def show_unexpected(parent: QWidget | None, kind: type[BaseException], error: BaseException,
                    tb: TracebackType | None) -> None:
    log.error("Unexpected error", exc_info=(kind, error, tb))
    details = "".join(traceback.format_exception(kind, error, tb))
    box = QMessageBox(QMessageBox.Icon.Critical, "Something went wrong",
                      "Casebook hit an unexpected problem. Your notes and library are safe; "
                      "the details below are also in the log file.",
                      QMessageBox.StandardButton.Ok, parent)
    box.setDetailedText(
        f"Casebook {__version__}, Python {platform.python_version()}, "
        f"PySide6 {pyside_version}, {platform.platform()}\n\n{details}")
    box.exec()


def install_excepthook() -> None:
    """Route uncaught exceptions on the GUI thread to the log and a dialog, not stderr."""
    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        if isinstance(error, CasebookError):
            show_error(QApplication.activeWindow(), error)
            return
        show_unexpected(QApplication.activeWindow(), kind, error, tb)

    sys.excepthook = hook
