"""The find-in-document bar (Ctrl+F): type, then Enter / F3 for next, Shift+F3 for previous."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget


class FindBar(QWidget):
    search_changed = Signal(str)
    next_requested = Signal()
    previous_requested = Signal()
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = QLineEdit(self)
        self.field.setPlaceholderText("Find in document")
        self.field.setAccessibleName("Find in document")
        self.field.setClearButtonEnabled(True)
        self.count = QLabel("", self)
        self.count.setAccessibleName("Find results")
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        previous = self._button("↑", "Previous match (Shift+F3)", self.previous_requested.emit)
        following = self._button("↓", "Next match (F3)", self.next_requested.emit)
        close = self._button("✕", "Close the find bar (Esc)", self.close_bar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for widget in (self.field, previous, following, self.count):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(close)
        # Search as the user types, once typing pauses: no work per keystroke.
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(lambda: self.search_changed.emit(self.field.text()))
        self.field.textChanged.connect(lambda _text: self._debounce.start())
        self.field.returnPressed.connect(self.next_requested.emit)

    def _button(self, text: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.clicked.connect(slot)
        return button

    def open(self) -> None:
        self.show()
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()

    def close_bar(self) -> None:
        self.hide()
        self.closed.emit()

    def show_count(self, current: int, total: int) -> None:
        if not self.field.text():
            self.count.setText("")
        elif total == 0:
            self.count.setText("No matches")
        else:
            matches = "1 match" if total == 1 else f"{total} matches"
            self.count.setText(f"{current} of {total}" if current else matches)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close_bar()
            return
        shifted = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        if event.key() == Qt.Key.Key_Return and shifted:
            self.previous_requested.emit()
            return
        super().keyPressEvent(event)
