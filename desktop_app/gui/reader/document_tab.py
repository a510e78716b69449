"""One open document in a tab: a PDF view or a Markdown view behind one small interface,
so the window treats both alike (find, zoom, position, state)."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop_app.core.annotations.describe import find_quote
from desktop_app.core.annotations.model import Annotation
from desktop_app.core.annotations.text import DocumentText, document_text
from desktop_app.core.inert_text import isolate
from desktop_app.core.library import (
    MY_DOCUMENTS_ID,
    DocumentRecord,
    document_bytes,
    media_bytes,
    page_texts,
)
from desktop_app.gui.notes.notes_panel import SWATCHES
from desktop_app.gui.reader.markdown.markdown_view import MarkdownView
from desktop_app.gui.reader.pdf.marks import AnnotationMark
from desktop_app.gui.reader.pdf.pdf_view import PdfView
from desktop_app.gui.reader.pdf.render_service import RenderService

_PREVIEW_KEYS = itertools.count(1)


class DocumentTab(QWidget):
    position_changed = Signal()
    outline_changed = Signal()
    annotation_clicked = Signal(str)
    find_counted = Signal(int)
    external_link_clicked = Signal(QUrl)
    document_link_clicked = Signal(str)

    def __init__(self, record: DocumentRecord, conn: sqlite3.Connection,
                 service: RenderService, parent: QWidget | None = None, *,
                 pdf_source: bytes | Path | None = None, view_key: str | None = None) -> None:
        super().__init__(parent)
        self.record = record
        # A PDF shown from its file while it is still being added to My documents:
        # readable at once, annotatable once adopt() gives it its record.
        self.pending = record.id < 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.view: PdfView | MarkdownView
        if record.is_pdf:
            data = pdf_source if pdf_source is not None else document_bytes(conn, record)
            self.view = PdfView(service, view_key or f"doc-{record.id}", data, self)
            self.view.page_changed.connect(lambda _page: self.position_changed.emit())
            self.view.zoom_changed.connect(lambda _zoom: self.position_changed.emit())
            self.view.find_results.connect(self.find_counted.emit)
            self.view.failed.connect(lambda _message: self.position_changed.emit())
            self.view.opened.connect(lambda _info: self.outline_changed.emit())
            self.view.annotation_clicked.connect(self.annotation_clicked.emit)
            self.view.external_link_clicked.connect(
                lambda url: self.external_link_clicked.emit(QUrl(url)))
        else:
            def load_media(path: str) -> bytes | None:
                return media_bytes(conn, record, path)

            self.view = MarkdownView(record.html or "", load_media, self)
            self.view.document_link_clicked.connect(self.document_link_clicked.emit)
            self.view.verticalScrollBar().valueChanged.connect(
                lambda _value: self.position_changed.emit())
            self.view.external_link_clicked.connect(self.external_link_clicked.emit)
        self._sections = [(label, anchor) for _n, label, anchor, _t in page_texts(conn, record.id)]
        self._conn = conn
        self._text: DocumentText | None = None
        layout.addWidget(self.view)
        self.setFocusProxy(self.view)

    @classmethod
    def from_file(cls, path: Path, conn: sqlite3.Connection, service: RenderService,
                  parent: QWidget | None = None, *, view_key: str | None = None
                  ) -> DocumentTab:
        """A PDF from a file, shown while ``docs add`` stores and indexes it. The render
        worker reads the file itself: nothing is read here, on the GUI thread."""
        record = DocumentRecord(id=-1, pack_id=MY_DOCUMENTS_ID, pack_version="", doc_id="",
                                title=path.stem, kind="document",
                                media_type="application/pdf", page_count=0, blob_sha256="",
                                html=None)
        return cls(record, conn, service, parent, pdf_source=path,
                   view_key=view_key or f"file-{next(_PREVIEW_KEYS)}")

    def adopt(self, record: DocumentRecord) -> None:
        """The file is in the library now: this tab is that document (its view stays)."""
        self.record = record
        self.pending = False
        self._sections = [(label, anchor)
                          for _n, label, anchor, _t in page_texts(self._conn, record.id)]
        self._text = None
        self.position_changed.emit()

    @property
    def title(self) -> str:
        return self.record.title

    def position_text(self) -> str:
        if isinstance(self.view, PdfView):
            count = self.view.page_count()
            if not count:
                return ""
            page = self.view.current_page()
            label = self.view.page_label(page)
            shown = f"Page {label} ({page + 1} of {count})" if label != str(page + 1) \
                else f"Page {page + 1} of {count}"
            return f"{shown} · {round(self.view.zoom() * 100)}%"
        return f"{self.record.page_count} sections"

    # --- find -------------------------------------------------------------------------
    def find(self, text: str) -> None:
        if isinstance(self.view, PdfView):
            self.view.find(text)  # counted asynchronously: find_results
        else:
            self.find_counted.emit(self.view.find(text) if text else 0)

    def find_next(self) -> None:
        self.view.find_next()

    def find_previous(self) -> None:
        self.view.find_previous()

    # --- zoom and position ------------------------------------------------------------
    def zoom_in(self) -> None:
        if isinstance(self.view, PdfView):
            self.view.set_zoom(min(4.0, self.view.zoom() * 1.25))
        else:
            self.view.zoom_in()

    def zoom_out(self) -> None:
        if isinstance(self.view, PdfView):
            self.view.set_zoom(max(0.5, self.view.zoom() / 1.25))
        else:
            self.view.zoom_out()

    def zoom_reset(self) -> None:
        if isinstance(self.view, PdfView):
            self.view.set_zoom("fit-width")
        else:
            self.view.set_text_scale(100)

    def fit_page(self) -> None:
        if isinstance(self.view, PdfView):
            self.view.set_zoom("fit-page")

    def go_to(self, unit: int, anchor: str | None, words: list[str]) -> None:
        """Show a search hit: a PDF page, or a Markdown section with its words marked."""
        if isinstance(self.view, PdfView):
            self.view.go_to_page(unit)
            if words:
                self.view.find(" ".join(words))
        else:
            if anchor:
                self.view.go_to_anchor(anchor)
            if words:
                self.view.highlight_words(words)

    def outline_entries(self) -> list[tuple[int, str, tuple]]:
        """(level, title, target) for the Contents panel."""
        if isinstance(self.view, PdfView):
            return [(entry.level, entry.title, ("page", entry.page, entry.y))
                    for entry in self.view.outline() if entry.page >= 0]
        return [(1, label, ("anchor", anchor, label))
                for label, anchor in self._sections if anchor]

    def go_to_target(self, target: tuple) -> None:
        kind, where, extra = target
        if kind == "page" and isinstance(self.view, PdfView):
            self.view.go_to_page(where, extra)
        elif (kind == "anchor" and isinstance(self.view, MarkdownView)
              and not self.view.go_to_anchor(where)):
            self.view.go_to_section(extra)
        self.view.setFocus()

    # --- the reader's highlights ------------------------------------------------------
    def text(self) -> DocumentText:
        """The document's extracted text, as annotations count it (loaded once)."""
        if self._text is None:
            self._text = document_text(self._conn, self.record.id)
        return self._text

    def selected_span(self) -> tuple[int, int] | None:
        """The selection (or else the current find hit) as offsets in ``text()``."""
        if isinstance(self.view, PdfView):
            return self._pdf_span()
        picked = self.view.selected_quote()
        if picked is None:
            return None
        quote, fraction = picked
        text = self.text()
        spans = []
        while (span := find_quote(text, quote, nth=len(spans))) is not None and len(spans) < 500:
            spans.append(span)
        if not spans:
            return None
        # The same words can occur more than once: take the one where the selection is.
        return min(spans, key=lambda span: abs(span[0] / max(1, len(text.text)) - fraction))

    def _pdf_span(self) -> tuple[int, int] | None:
        selection = self.view.selection()
        if selection is None and self.view.select_find_hit():
            selection = self.view.selection()
        if selection is None:
            return None
        text = self.text()
        if selection.page >= len(text.starts):
            return None
        if self.view.page_text(selection.page) != text.unit_text(selection.page):
            # Text stored by another extractor (a pack installed before the current
            # normalisation): find the selected words instead of trusting offsets.
            return find_quote(text, selection.text)
        offset = text.starts[selection.page]
        return offset + selection.start, offset + selection.end

    def show_annotations(self, notes: list[Annotation]) -> None:
        placed = [n for n in notes if n.anchor_state != "orphaned" and n.start is not None]
        if isinstance(self.view, PdfView):
            self.view.set_annotations([mark for n in placed for mark in pdf_marks(n)])
            return
        length = max(1, len(self.text().text))
        self.view.set_annotation_marks(
            [(n.quote, n.start / length, QColor(SWATCHES[n.colour])) for n in placed])

    def go_to_note(self, note: Annotation) -> None:
        if isinstance(self.view, PdfView):
            if not self.view.scroll_to_annotation(note.uuid) and note.page_index is not None:
                self.view.go_to_page(note.page_index)
        elif note.section_anchor:
            self.view.go_to_anchor(note.section_anchor)
        self.view.setFocus()

    def go_to_page(self, index: int) -> None:
        if isinstance(self.view, PdfView):
            self.view.go_to_page(index)

    def view_state(self) -> dict[str, Any]:
        return self.view.view_state()

    def restore_state(self, state: dict[str, Any]) -> None:
        self.view.restore_state(state)


class FailedTab(QWidget):
    """A document that could not be opened: its message in the tab, not a crash."""

    def __init__(self, title: str, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        label = QLabel(f"{isolate(title)} cannot be shown.\n\n{message}", self)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setAccessibleName("Document error")
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addStretch(1)


def pdf_marks(note: Annotation) -> list[AnnotationMark]:
    """A saved highlight as the PDF view paints it: one mark per page it covers."""
    by_page: dict[int, list[tuple[float, float, float, float]]] = {}
    for entry in note.rects:
        by_page.setdefault(int(entry["page"]), []).append(tuple(entry["rect"]))
    return [AnnotationMark(note.uuid, page, tuple(rects), note.colour, note.anchor_state,
                           bool(note.body.strip()))
            for page, rects in by_page.items()]
