"""The library search panel: results appear as the user types, without ever blocking typing.

Each query waits for a pause in typing (a short debounce), then runs on a worker
thread that owns its own SQLite connection: a connection belongs to the thread that
opened it, and a slow query must not freeze the field. Every query carries a
sequence number; results of a query the user has since changed are dropped.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAbstractTextDocumentLayout, QKeyEvent, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.inert_text import isolate
from desktop_app.core.search import SearchHit, UnsearchedPages, search, unsearched_pages
from desktop_app.core.store.db import open_secondary
from desktop_app.gui.rich_text import escape, marked_html

log = logging.getLogger(__name__)

DEBOUNCE_MS = 150
RESULT_LIMIT = 50
PLACEHOLDER = 'Search all packs — words, "phrase", prefix*, OR, -word'
HIT_ROLE = Qt.ItemDataRole.UserRole
HTML_ROLE = Qt.ItemDataRole.UserRole + 1
_ROW_PADDING = 6


def place_text(hit: SearchHit) -> str:
    """Where a hit is, as the reader names it: "page 4" (with a printed label) or "§ Lessons"."""
    if hit.page is not None:
        shown = f"page {hit.page}"
        return shown if hit.label in ("", str(hit.page)) else f"{shown} ({hit.label})"
    return f"§ {hit.section}"


def hit_html(hit: SearchHit) -> str:
    """One result as rich text; every piece of pack text is escaped before tags are added."""
    mine = "<i>Your note</i> · " if hit.is_note else ""
    return (f"{mine}<b>{escape(hit.doc_title)}</b> · {escape(place_text(hit))}"
            f"<br>{marked_html(hit.snippet, hit.highlights)}")


@dataclass(frozen=True)
class _Job:
    seq: int
    text: str
    pack_id: str | None


class _Results(QObject):
    """Carries results from the worker thread to the GUI thread (a queued signal)."""

    finished = Signal(int, object)  # seq, (list[SearchHit], list[UnsearchedPages])
    failed = Signal(int, str)  # seq, message


class SearchWorker:
    """A thread with its own read-only connection that runs the newest query it is given."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        # Parentless, and referenced here: it must outlive the panel while a query runs.
        self.results = _Results()
        self.latest = 0  # set by the GUI thread; older queued jobs are skipped
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="casebook-search", daemon=True)
        self._thread.start()

    def submit(self, job: _Job) -> None:
        self.latest = job.seq
        self._jobs.put(job)

    def stop(self) -> None:
        self._jobs.put(None)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while (job := self._jobs.get()) is not None:
                if job.seq != self.latest:
                    continue  # the user typed on while this waited
                try:
                    conn, hits = self._search(conn, job)
                    gaps = unsearched_pages(conn, pack_id=job.pack_id)
                except (sqlite3.Error, OSError) as exc:
                    log.warning("Library search for %r failed: %s", job.text, exc)
                    self._emit(self.results.failed, job.seq, f"Search failed: {exc}")
                else:
                    self._emit(self.results.finished, job.seq, (hits, gaps))
        finally:
            if conn is not None:
                conn.close()

    def _search(self, conn: sqlite3.Connection | None,
                job: _Job) -> tuple[sqlite3.Connection, list[SearchHit]]:
        """Run one query; a connection that fails is replaced once and the query run
        again. A long-lived connection can outlive what it was opened on (the library
        restored from a backup, its schema migrated or its indexes rebuilt by another
        Casebook); a new one sees the file as it is now."""
        for attempt in (1, 2):
            if conn is None:
                conn = self._connect()
            try:
                return conn, search(conn, job.text, pack_id=job.pack_id, limit=RESULT_LIMIT,
                                    include_notes=True)
            except sqlite3.Error as exc:
                conn.close()
                conn = None
                if attempt == 2:
                    raise
                log.info("Library search reconnects after: %s", exc)
        raise AssertionError("unreachable")

    def _connect(self) -> sqlite3.Connection:
        if not self.store_path.is_file():
            # sqlite3.connect would create an empty file where the library should be.
            raise OSError(f"the library file {self.store_path} is missing")
        # The same settings as every other connection to the store (one access path),
        # and read-only: the panel never writes.
        return open_secondary(self.store_path, query_only=True)

    @staticmethod
    def _emit(signal: Any, seq: int, payload: object) -> None:
        with contextlib.suppress(RuntimeError):  # the application is shutting down
            signal.emit(seq, payload)


class SearchResultsModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hits: list[SearchHit] = []
        self._html: list[str] = []

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self._html = [hit_html(hit) for hit in self._hits]
        self.endResetModel()

    def hits(self) -> list[SearchHit]:
        return list(self._hits)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            # Plain text: what screen readers announce for the row.
            return f"{hit.doc_title}, {place_text(hit)}: {hit.snippet}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{hit.pack_title}\n{hit.doc_title}, {place_text(hit)}"
        if role == HIT_ROLE:
            return hit
        if role == HTML_ROLE:
            return self._html[index.row()]
        return None


class HitDelegate(QStyledItemDelegate):
    """Paints a row's rich text (bold matched words) over the style's item background."""

    def _document(self, option: QStyleOptionViewItem, html: str, width: float) -> QTextDocument:
        document = QTextDocument()
        document.setDefaultFont(option.font)
        document.setDocumentMargin(0)
        document.setHtml(html)
        document.setTextWidth(max(40.0, width - 2 * _ROW_PADDING))
        return document

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        self.initStyleOption(option, index)
        html = index.data(HTML_ROLE) or ""
        option.text = ""  # the style draws background, focus and selection only
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        document = self._document(option, html, option.rect.width())
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = option.state & QStyle.StateFlag.State_Selected
        group = (QPalette.ColorGroup.Active if option.state & QStyle.StateFlag.State_Active
                 else QPalette.ColorGroup.Inactive)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        context.palette.setColor(QPalette.ColorRole.Text, option.palette.color(group, role))
        painter.save()
        painter.translate(option.rect.left() + _ROW_PADDING, option.rect.top() + _ROW_PADDING)
        painter.setClipRect(QRectF(0, 0, option.rect.width() - _ROW_PADDING,
                                   option.rect.height() - _ROW_PADDING))
        document.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        view = self.parent()
        width = view.viewport().width() if isinstance(view, QAbstractItemView) else 300
        document = self._document(option, index.data(HTML_ROLE) or "", width)
        return QSize(width, round(document.size().height()) + 2 * _ROW_PADDING)


class SearchPanel(QWidget):
    """Library search: a field, the ranked hits, and a status line."""

    hit_activated = Signal(object)  # SearchHit

    def __init__(self, store_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = QLineEdit(self)
        self.field.setPlaceholderText(PLACEHOLDER)
        self.field.setClearButtonEnabled(True)
        self.field.setAccessibleName("Search the library")
        self.field.setAccessibleDescription(
            'Results appear as you type. Words must all match; use "quotes" for a phrase, '
            "a trailing * for a prefix, OR for either word and -word to leave a word out. "
            "Press Down to move to the results, Escape to clear.")
        self.results = QListView(self)
        self.results.setAccessibleName("Search results")
        self.results.setAccessibleDescription(
            "Press Enter to open a result, Up from the first result to return to the field.")
        self.model = SearchResultsModel(self)
        self.results.setModel(self.model)
        self.results.setItemDelegate(HitDelegate(self.results))
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.results.setResizeMode(QListView.ResizeMode.Adjust)  # rows rewrap on resize
        self.results.setWordWrap(True)
        self.results.setAlternatingRowColors(True)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setAccessibleName("Search status")
        self.status.setAccessibleDescription("How many results the search found.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.field)
        layout.addWidget(self.status)
        layout.addWidget(self.results, 1)

        self._pack_id: str | None = None
        self._seq = 0
        self._worker = SearchWorker(store_path)
        self._worker.results.finished.connect(self._show_hits)
        self._worker.results.failed.connect(self._show_failure)
        # The worker's thread ends with the panel (its results object outlives it).
        self.destroyed.connect(self._worker.stop)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._run_query)
        self.field.textChanged.connect(self._text_changed)
        self.results.activated.connect(self._activate)
        self.field.installEventFilter(self)
        self.results.installEventFilter(self)
        self._set_status("Type to search")

    # --- public -----------------------------------------------------------------------
    def focus_search(self) -> None:
        """Focus the field with its text selected, ready to type over (Ctrl+Shift+F)."""
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()

    def set_pack_filter(self, pack_id: str | None) -> None:
        """Search one pack only, or every pack (None); the current query runs again."""
        if pack_id != self._pack_id:
            self._pack_id = pack_id
            self._run_query()

    def pack_filter(self) -> str | None:
        return self._pack_id

    def set_query(self, text: str) -> None:
        """Put ``text`` in the field and search for it straight away."""
        self.field.setText(text)
        self._run_query()

    def hits(self) -> list[SearchHit]:
        return self.model.hits()

    def result_count(self) -> int:
        return self.model.rowCount()

    def activate_row(self, row: int) -> None:
        """Open result ``row`` as Enter on it would (emits :attr:`hit_activated`)."""
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row, 0)
            self.results.setCurrentIndex(index)
            self._activate(index)

    def clear(self) -> None:
        self.field.clear()  # textChanged empties the results

    def shutdown(self, timeout: float = 2.0) -> None:
        """Stop the worker thread and wait for it (the panel cannot search afterwards)."""
        self._worker.stop()
        self._worker.join(timeout)

    # --- searching --------------------------------------------------------------------
    def _text_changed(self, text: str) -> None:
        if text.strip():
            self._debounce.start()
        else:
            self._debounce.stop()
            self._seq += 1  # any query still running is now out of date
            self.model.set_hits([])
            self._set_status("Type to search")

    def _run_query(self) -> None:
        self._debounce.stop()
        text = self.field.text()
        if not text.strip():
            return
        self._seq += 1
        self._worker.submit(_Job(self._seq, text, self._pack_id))

    @Slot(int, object)
    def _show_hits(self, seq: int, answer: tuple[list[SearchHit], list[UnsearchedPages]]
                   ) -> None:
        if seq != self._seq:
            return  # an answer to something the user has since changed
        hits, gaps = answer
        self.model.set_hits(hits)
        count = len(hits)
        if count == 0:
            status = "No results"
        else:
            more = "+" if count >= RESULT_LIMIT else ""
            status = f"{count}{more} result{'s' if count != 1 else ''}"
        # Unreadable pages are not in the index: "No results" must not read as "not there".
        self._set_status("\n".join([status, *(isolate(gap.sentence()) for gap in gaps)]))
        if count:
            self.results.setCurrentIndex(self.model.index(0, 0))

    @Slot(int, str)
    def _show_failure(self, seq: int, message: str) -> None:
        if seq == self._seq:
            self.model.set_hits([])
            self._set_status(message)

    def _set_status(self, text: str) -> None:
        self.status.setText(text)

    # --- keyboard ---------------------------------------------------------------------
    def _activate(self, index: QModelIndex) -> None:
        hit = index.data(HIT_ROLE)
        if isinstance(hit, SearchHit):
            self.hit_activated.emit(hit)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if watched is self.field:
                return self._field_key(event)
            if watched is self.results:
                return self._list_key(event)
        return super().eventFilter(watched, event)

    def _field_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Down and self.model.rowCount():
            self.results.setFocus(Qt.FocusReason.TabFocusReason)
            if not self.results.currentIndex().isValid():
                self.results.setCurrentIndex(self.model.index(0, 0))
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self._debounce.isActive():
                self._run_query()  # Enter means "search now", not "open a stale result"
            elif self.model.rowCount():
                self._activate(self.results.currentIndex()
                               if self.results.currentIndex().isValid()
                               else self.model.index(0, 0))
            return True
        if key == Qt.Key.Key_Escape and self.field.text():
            self.clear()
            return True
        return False

    def _list_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            # Handled here, not via the view's own Enter handling, which differs on macOS.
            self._activate(self.results.currentIndex())
            return True
        if key == Qt.Key.Key_Up and self.results.currentIndex().row() <= 0:
            self.field.setFocus(Qt.FocusReason.BacktabFocusReason)
            return True
        if key == Qt.Key.Key_Escape:
            self.clear()
            self.field.setFocus(Qt.FocusReason.OtherFocusReason)
            return True
        return False
