"""The Notes panel: highlights and notes of the open document or of its pack, the
ones that need a look, filters, jump, edit, delete with undo."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QColor,
    QIcon,
    QKeySequence,
    QPixmap,
    QShortcut,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.annotations.model import COLOURS, Annotation
from desktop_app.core.annotations.review import confirm_place
from desktop_app.core.annotations.store import (
    delete_annotation,
    list_annotations,
    undelete_annotation,
    update_annotation,
)
from desktop_app.gui.reader.pdf.marks import COLOURS as HIGHLIGHT_COLOURS

# One palette for the panel, the PDF view and the Markdown view.
SWATCHES = {name: colour.name() for name, colour in HIGHLIGHT_COLOURS.items()}
UUID_ROLE = Qt.ItemDataRole.UserRole
SCOPES = (("document", "This document"), ("pack", "All notes in this pack"),
          ("unplaced", "Notes that need a look"))


def swatch(colour: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(SWATCHES.get(colour, "#cccccc")))
    return QIcon(pixmap)


def where(note: Annotation) -> str:
    if note.page_label is not None:
        return f"page {note.page_label}"
    return f"§ {note.section}" if note.section else ""


def state_words(note: Annotation) -> str:
    if note.anchor_state == "fuzzy":
        return "check its place"
    if note.anchor_state == "orphaned":
        return f"not found in this version: made on {note.doc_version}"
    return ""


class _Change(QUndoCommand):
    """One undoable change to one note: ``redo``/``undo`` call the core."""

    def __init__(self, text: str, redo: Callable[[], None], undo: Callable[[], None],
                 done: Callable[[], None]) -> None:
        super().__init__(text)
        self._redo, self._undo, self._done = redo, undo, done

    def redo(self) -> None:
        self._redo()
        self._done()

    def undo(self) -> None:
        self._undo()
        self._done()


class NotesPanel(QWidget):
    note_activated = Signal(object)  # Annotation
    notes_changed = Signal()

    def __init__(self, conn: sqlite3.Connection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._conn = conn
        self._context: tuple[str, str] | None = None  # pack id, doc id of the open document
        self.undo_stack = QUndoStack(self)

        self.scope = QComboBox(self)
        for key, label in SCOPES:
            self.scope.addItem(label, key)
        self.scope.setAccessibleName("Which notes")
        self.colour = QComboBox(self)
        self.colour.addItem("All colours", None)
        for name in COLOURS:
            self.colour.addItem(swatch(name), name.capitalize(), name)
        self.colour.setAccessibleName("Filter by colour")
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter: words, or #tag")
        self.filter.setAccessibleName("Filter notes")
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Notes")
        self.list.setAccessibleDescription("Highlights and notes in reading order. Enter goes "
                                           "there, F2 edits the note, Delete removes it.")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setAccessibleName("Notes shown")
        self.edit_button = self._button("Edit note…", self.edit_current)
        self.delete_button = self._button("Delete", self.delete_current)
        self.confirm_button = self._button("Confirm place", self.confirm_current)
        # Keys act on the list only: Delete typed anywhere else must never remove a note.
        for key, slot in (("F2", self.edit_current),
                          (QKeySequence.StandardKey.Delete, self.delete_current)):
            QShortcut(QKeySequence(key), self.list, slot,
                      context=Qt.ShortcutContext.WidgetShortcut)

        filters = QHBoxLayout()
        filters.addWidget(self.colour)
        filters.addWidget(self.filter, 1)
        buttons = QHBoxLayout()
        for button in (self.edit_button, self.delete_button, self.confirm_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.scope)
        layout.addLayout(filters)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        self.scope.currentIndexChanged.connect(lambda _i: self.refresh())
        self.colour.currentIndexChanged.connect(lambda _i: self.refresh())
        self.filter.textChanged.connect(lambda _t: self.refresh())
        self.list.itemActivated.connect(self._activate)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.refresh()

    def _button(self, text: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(text, self)
        button.clicked.connect(slot)
        return button

    # --- what is shown ------------------------------------------------------------------
    def set_context(self, pack_id: str | None, doc_id: str | None) -> None:
        self._context = (pack_id, doc_id) if pack_id and doc_id else None
        self.refresh()

    def notes(self) -> list[Annotation]:
        scope = self.scope.currentData()
        if scope == "unplaced":
            found = [n for n in list_annotations(self._conn) if n.anchor_state != "anchored"]
        elif self._context is None:
            found = []
        elif scope == "pack":
            found = list_annotations(self._conn, pack_id=self._context[0])
        else:
            found = list_annotations(self._conn, pack_id=self._context[0],
                                     doc_id=self._context[1])
        colour = self.colour.currentData()
        words = self.filter.text().strip().casefold()
        return [n for n in found
                if (colour is None or n.colour == colour) and _matches(n, words)]

    def refresh(self) -> None:
        selected = self.current_uuid()
        self.list.clear()
        notes = self.notes()
        for note in notes:
            quote = " ".join(note.quote.split())[:160]
            if note.anchor_state == "orphaned":
                # The words around it help the reader find where it belonged.
                quote = (f"…{' '.join(note.prefix.split())} “{quote}” "
                         f"{' '.join(note.suffix.split())}…")
            else:
                quote = f"“{quote}”"
            lines = [quote]
            if note.body.strip():
                lines.append(note.body.strip())
            details = [where(note)] + [f"#{t}" for t in note.tags]
            if state_words(note):
                details.append(f"⚠ {state_words(note)}")
            lines.append("  ".join(d for d in details if d))
            item = QListWidgetItem(swatch(note.colour), "\n".join(lines))
            item.setData(UUID_ROLE, note.uuid)
            item.setData(Qt.ItemDataRole.AccessibleTextRole,
                         f"{note.colour} highlight, {where(note)}: {note.quote}. "
                         f"{('Note: ' + note.body) if note.body else ''} {state_words(note)}")
            self.list.addItem(item)
            if note.uuid == selected:
                self.list.setCurrentItem(item)
        if self._context is None and self.scope.currentData() != "unplaced":
            self.status.setText("Open a document to see its notes.")
        else:
            self.status.setText("No notes" if not notes else
                                f"{len(notes)} note{'s' if len(notes) != 1 else ''}")
        self._update_buttons()

    def select_note(self, uuid: str) -> None:
        """Show one note in the list (a highlight was clicked in the document)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(UUID_ROLE) == uuid:
                self.list.setCurrentRow(row)
                self.list.scrollToItem(self.list.item(row))
                return

    def current_uuid(self) -> str | None:
        item = self.list.currentItem()
        return item.data(UUID_ROLE) if item else None

    def _current_note(self) -> Annotation | None:
        uuid = self.current_uuid()
        return next((n for n in self.notes() if n.uuid == uuid), None) if uuid else None

    def _update_buttons(self) -> None:
        note = self._current_note()
        self.edit_button.setEnabled(note is not None)
        self.delete_button.setEnabled(note is not None)
        self.confirm_button.setEnabled(note is not None and note.anchor_state == "fuzzy")

    def _activate(self, item: QListWidgetItem) -> None:
        note = next((n for n in self.notes() if n.uuid == item.data(UUID_ROLE)), None)
        if note is not None:
            self.note_activated.emit(note)

    # --- changes, each undoable ---------------------------------------------------------
    def _changed(self) -> None:
        self.refresh()
        self.notes_changed.emit()

    def edit_current(self) -> None:
        note = self._current_note()
        if note is None:
            return
        text, ok = QInputDialog.getMultiLineText(self, "Edit note", f"“{note.quote[:80]}”",
                                                 note.body)
        if not ok:
            return
        tags_text, ok = QInputDialog.getText(self, "Edit note", "Tags (separated by commas):",
                                             text=", ".join(note.tags))
        tags = tuple(t.strip() for t in tags_text.split(",") if t.strip()) if ok else note.tags
        if text != note.body or tags != note.tags:
            self.change_note(note, text, tags)

    def change_body(self, note: Annotation, body: str) -> None:
        self.change_note(note, body, note.tags)

    def change_note(self, note: Annotation, body: str, tags: tuple[str, ...]) -> None:
        old_body, old_tags = note.body, note.tags
        self.undo_stack.push(_Change(
            "Edit note",
            lambda: update_annotation(self._conn, note.uuid, body=body, tags=tags),
            lambda: update_annotation(self._conn, note.uuid, body=old_body, tags=old_tags),
            self._changed))

    def record_created(self, note: Annotation) -> None:
        """A highlight just made elsewhere (the window), so that Ctrl+Z removes it."""
        created = [True]

        def redo() -> None:
            if not created[0]:
                undelete_annotation(self._conn, note.uuid)
            created[0] = False

        self.undo_stack.push(_Change(
            "Highlight", redo, lambda: delete_annotation(self._conn, note.uuid), self._changed))

    def delete_current(self) -> None:
        note = self._current_note()
        if note is not None:
            self.undo_stack.push(_Change(
                "Delete note",
                lambda: delete_annotation(self._conn, note.uuid),
                lambda: undelete_annotation(self._conn, note.uuid),
                self._changed))

    def confirm_current(self) -> None:
        note = self._current_note()
        if note is not None and note.anchor_state == "fuzzy":
            confirm_place(self._conn, note.uuid)
            self._changed()


def _matches(note: Annotation, words: str) -> bool:
    if not words:
        return True
    if words.startswith("#"):
        return any(tag.casefold() == words[1:] for tag in note.tags)
    haystack = " ".join((note.quote, note.body, *note.tags)).casefold()
    return all(word in haystack for word in words.split())
