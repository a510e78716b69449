"""The Contents panel: the open document's outline (PDF bookmarks, or Markdown headings)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from desktop_app.core.inert_text import isolate

TARGET_ROLE = Qt.ItemDataRole.UserRole


class OutlinePanel(QTreeWidget):
    """Entries carry a target: ``("page", index, y)`` or ``("anchor", id, label)``."""

    target_activated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setUniformRowHeights(True)
        self.setAccessibleName("Contents")
        self.setAccessibleDescription("The open document's chapters and sections. "
                                      "Press Enter to go there.")
        self.itemActivated.connect(
            lambda item, _column: self.target_activated.emit(item.data(0, TARGET_ROLE)))
        self.show_entries([])

    def show_entries(self, entries: list[tuple[int, str, tuple]]) -> None:
        """``entries``: (level starting at 1, title, target), in document order."""
        self.clear()
        parents: list[QTreeWidgetItem] = []
        for level, title, target in entries:
            item = QTreeWidgetItem([isolate(title)])
            item.setData(0, TARGET_ROLE, target)
            item.setToolTip(0, isolate(title))
            del parents[max(level - 1, 0):]
            if parents:
                parents[-1].addChild(item)
            else:
                self.addTopLevelItem(item)
            parents.append(item)
        if not entries:
            placeholder = QTreeWidgetItem(["No contents for this document"])
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addTopLevelItem(placeholder)
        self.expandToDepth(0)
