"""The library sidebar: installed packs (version, publisher, trust) and their documents."""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from desktop_app.core.inert_text import isolate
from desktop_app.core.library import list_documents, list_packs
from desktop_app.core.packs.version import PackVersion

DOC_ROLE = Qt.ItemDataRole.UserRole
PACK_ROLE = Qt.ItemDataRole.UserRole + 1
# The version a catalogue offers for a pack row, or None.
UPDATE_ROLE = Qt.ItemDataRole.UserRole + 2


class LibraryPanel(QTreeWidget):
    """Packs as top-level rows, documents under them; activating a document opens it."""

    document_activated = Signal(str, str)  # pack id, doc id

    def __init__(self, conn: sqlite3.Connection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._conn = conn
        self._updates: dict[str, str] = {}
        self.setHeaderHidden(True)
        self.setUniformRowHeights(True)
        self.setAccessibleName("Library")
        self.setAccessibleDescription(
            "Installed packs and their documents. Press Enter to open a document.")
        self.itemActivated.connect(self._activate)
        self.refresh()

    def refresh(self) -> None:
        expanded = {self.topLevelItem(i).data(0, PACK_ROLE)
                    for i in range(self.topLevelItemCount())
                    if self.topLevelItem(i).isExpanded()}
        self.clear()
        packs = list_packs(self._conn)
        need_a_look = dict(self._conn.execute(
            "SELECT pack_id, count(*) FROM annotations WHERE deleted IS NULL AND "
            "anchor_state IN ('fuzzy', 'orphaned') GROUP BY pack_id").fetchall())
        for info in packs:
            pack_item = QTreeWidgetItem([f"{isolate(info.title)}  {info.version}"])
            pack_item.setData(0, PACK_ROLE, info.pack_id)
            trust = {"signed": f"signed by {info.signer_name}",
                     "unsigned": "UNSIGNED: not verified",
                     "unknown-signer": "signed by an unknown key: not verified",
                     "local": "files you opened in Casebook"}[info.trust]
            tip = (f"{isolate(info.title)}\n{isolate(info.publisher)}\n"
                   f"Version {info.version}, {trust}")
            if info.previous_version:
                tip += f"\nPrevious version {info.previous_version} kept (can roll back)"
            # Markers in words, not only symbols: screen readers read the text and role.
            marks: list[tuple[str, str]] = []  # (shown, spoken)
            if info.trust in ("unsigned", "unknown-signer"):
                marks.append(("⚠ unverified", "not verified"))
            look = need_a_look.get(info.pack_id, 0)
            if look:
                words = f"{look} note{'s' if look != 1 else ''} need{'s' if look == 1 else ''}"
                marks.append((f"⚠ {words} a look", f"{words} a look after an update"))
                tip += f"\n{words} a look (Notes › Notes that need a look)"
            offered = self._offered(info.pack_id, info.version)
            if offered:
                marks.append((f"⬆ Update available: {offered}",
                              f"update available: version {offered}"))
                tip += f"\nUpdate available: version {offered}"
                pack_item.setData(0, UPDATE_ROLE, offered)
            pack_item.setText(0, "  ".join([pack_item.text(0), *(m[0] for m in marks)]))
            pack_item.setToolTip(0, tip)
            pack_item.setData(0, Qt.ItemDataRole.AccessibleTextRole, ", ".join(
                [f"Pack {isolate(info.title)}, version {info.version}, {isolate(info.publisher)}",
                 *(m[1] for m in marks)]))
            for doc in list_documents(self._conn, info.pack_id):
                unit = "pages" if doc.media_type == "application/pdf" else "sections"
                child = QTreeWidgetItem([isolate(doc.title)])
                child.setData(0, DOC_ROLE, (doc.pack_id, doc.doc_id))
                child.setToolTip(0, f"{isolate(doc.title)}\n{doc.page_count} {unit}")
                child.setData(0, Qt.ItemDataRole.AccessibleTextRole,
                              f"{'Guide' if doc.kind == 'guide' else 'Case study'}: "
                              f"{isolate(doc.title)}")
                pack_item.addChild(child)
            self.addTopLevelItem(pack_item)
            pack_item.setExpanded(not expanded or info.pack_id in expanded)
        if packs and self.currentItem() is None:
            self.setCurrentItem(self.topLevelItem(0))

    def set_updates(self, updates: dict[str, str]) -> None:
        """Mark packs that have a newer version on offer: ``{pack_id: version}`` (from
        ``core.packs.catalogue.UpdateCheck.versions()``); an empty dict clears the marks."""
        self._updates = dict(updates)
        self.refresh()

    def _offered(self, pack_id: str, installed: str) -> str | None:
        offered = self._updates.get(pack_id)
        try:
            newer = offered is not None and PackVersion.parse(offered) > PackVersion.parse(
                installed)
        except ValueError:
            return None
        # Once the update is installed the mark goes, whether or not anyone clears it.
        return offered if newer else None

    def _activate(self, item: QTreeWidgetItem, _column: int) -> None:
        target = item.data(0, DOC_ROLE)
        if target:
            self.document_activated.emit(*target)
        else:
            item.setExpanded(not item.isExpanded())
