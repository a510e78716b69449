"""File › Export notes… and Import notes…: the core's exporters behind two dialogs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QWidget,
)

from desktop_app.core.export import export_notes
from desktop_app.core.export.jsonld import ImportReport, import_annotations, read_import_file

FORMATS = {
    "docx": ("Word document", "docx"),
    "pdf": ("PDF with highlights (the guide)", "pdf"),
    "md": ("Markdown", "md"),
    "html": ("Web page (one file)", "html"),
    "jsonld": ("W3C Web Annotation JSON (to move notes to another computer)", "jsonld"),
}


class ExportDialog(QDialog):
    """Which notes (this document or the whole pack) and in which format."""

    def __init__(self, title: str, pack_title: str, selected_note: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export notes")
        self.scope = QComboBox(self)
        self.scope.addItem(f"This document: {title}", "document")
        self.scope.addItem(f"The whole pack: {pack_title}", "pack")
        if selected_note:
            self.scope.addItem("Only the note selected in the Notes panel", "selected")
        self.scope.setAccessibleName("Which notes")
        self.format = QComboBox(self)
        for key, (label, _suffix) in FORMATS.items():
            self.format.addItem(label, key)
        self.format.setAccessibleName("Format")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Notes:", self.scope)
        form.addRow("Format:", self.format)
        form.addRow(buttons)


def export_from_window(parent: QWidget, conn: sqlite3.Connection, pack_id: str, doc_id: str,
                       title: str, pack_title: str, selected_uuid: str | None = None
                       ) -> str | None:
    """Ask, export, and return a status message (None when the user cancelled)."""
    dialog = ExportDialog(title, pack_title, selected_uuid is not None, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    fmt = dialog.format.currentData()
    whole_pack = dialog.scope.currentData() == "pack"
    uuids = [selected_uuid] if dialog.scope.currentData() == "selected" and selected_uuid \
        else None
    suffix = FORMATS[fmt][1]
    name, _filter = QFileDialog.getSaveFileName(
        parent, "Export notes", str(Path.home() / f"{doc_id if not whole_pack else 'notes'}"
                                     f"-notes.{suffix}"),
        f"{FORMATS[fmt][0]} (*.{suffix})")
    if not name:
        return None
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        result = export_notes(conn, fmt, Path(name), pack_id=pack_id,
                              doc_id=None if whole_pack or uuids else doc_id, uuids=uuids)
    finally:
        QGuiApplication.restoreOverrideCursor()
    noun = "note" if result.notes == 1 else "notes"
    return f"Exported {result.notes} {noun} to {result.path}."


def import_from_window(parent: QWidget, conn: sqlite3.Connection) -> ImportReport | None:
    name, _filter = QFileDialog.getOpenFileName(
        parent, "Import notes", str(Path.home()),
        "Web Annotation JSON (*.jsonld *.json);;All files (*)")
    if not name:
        return None
    return import_annotations(conn, read_import_file(Path(name)))


def describe_import(report: ImportReport) -> str:
    parts = [f"{report.added} notes added"]
    if report.skipped_duplicates:
        parts.append(f"{report.skipped_duplicates} already here")
    if report.orphaned:
        parts.append(f"{report.orphaned} need a look (their text was not found)")
    if report.refused:
        parts.append(f"{report.refused} not Casebook notes, left out")
    return "; ".join(parts) + "."

