"""What several GUI tests check the same way: controls a screen reader could not name,
and the URLs the window hands to the desktop."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QWidget


def unnamed_controls(root: QWidget) -> list[str]:
    """Visible controls under ``root`` that take focus but have no accessible name."""
    unnamed = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisible() or widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        interface = QAccessible.queryAccessibleInterface(widget)
        name = interface.text(QAccessible.Text.Name) if interface else ""
        if not name.strip():
            unnamed.append(f"{type(widget).__name__} {widget.objectName()!r}")
    return unnamed


class Opened(QObject):
    """Where the desktop would have been asked to open a URL (Qt's own URL-handler hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())
