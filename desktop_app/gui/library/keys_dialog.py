"""File › Publisher keys…: the keys this library trusts, and those the reader said no
to when a catalogue asked; either decision can be taken back here (``casebook keys``
is the same on the command line)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

if TYPE_CHECKING:
    from desktop_app.gui.window.main_window import MainWindow

COLUMNS = ("Publisher key", "Key id", "Status")
_TRUSTED, _REFUSED = "trusted", "refused"
_ORIGIN_WORDS = {"bundled": "trusted (comes with Casebook)", "user": "trusted by you"}


class KeysDialog(QDialog):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.setWindowTitle("Publisher keys")
        self.setAccessibleName("Publisher keys")
        self.resize(640, 320)
        explain = QLabel("Packs signed with a trusted key install as signed. A key you "
                         "stop trusting is asked about again the next time a catalogue "
                         "signed with it is opened.", self)
        explain.setWordWrap(True)
        self.table = QTreeWidget(self)
        self.table.setAccessibleName("Publisher keys")
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setColumnWidth(0, 260)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.remove_button = QPushButton("&Stop trusting", self)
        self.remove_button.clicked.connect(self.remove_selected)
        self.ask_again_button = QPushButton("&Ask again", self)
        self.ask_again_button.clicked.connect(self.ask_again_selected)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.ask_again_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(explain)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        from desktop_app.core.packs.first_use import refused_keys
        from desktop_app.core.packs.trust import list_keys

        self.table.clear()
        for key in list_keys(self.window.conn):
            item = QTreeWidgetItem([key.name, key.key_id,
                                    _ORIGIN_WORDS.get(key.origin, "trusted")])
            item.setData(0, Qt.ItemDataRole.UserRole, (_TRUSTED, key.key_id, key.origin))
            self.table.addTopLevelItem(item)
        for key_id in refused_keys(self.window.conn):
            item = QTreeWidgetItem(["(a catalogue's key)", key_id, "not trusted: you said no"])
            item.setData(0, Qt.ItemDataRole.UserRole, (_REFUSED, key_id, ""))
            self.table.addTopLevelItem(item)
        self._selection_changed()

    def _selected(self) -> tuple[str, str, str] | None:
        item = self.table.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    @Slot()
    def _selection_changed(self) -> None:
        selected = self._selected()
        writable = not self.window._read_only
        # A bundled key comes back at the next start: removing it would only mislead.
        self.remove_button.setEnabled(writable and selected is not None
                                      and selected[0] == _TRUSTED and selected[2] != "bundled")
        self.ask_again_button.setEnabled(writable and selected is not None
                                         and selected[0] == _REFUSED)

    @Slot()
    def remove_selected(self) -> None:
        from desktop_app.core.packs.trust import untrust_key

        selected = self._selected()
        if selected is not None and selected[0] == _TRUSTED:
            untrust_key(self.window.conn, selected[1])
            self.refresh()

    @Slot()
    def ask_again_selected(self) -> None:
        from desktop_app.core.packs.first_use import forget_refusal

        selected = self._selected()
        if selected is not None and selected[0] == _REFUSED:
            forget_refusal(self.window.conn, selected[1])
            self.refresh()
