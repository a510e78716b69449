"""The window's community-site features wired together: the Comments panel, the sync
worker and its status in the status bar, signing in, and exporting the reader's
comments. The main window owns one of these and calls it from its menus, tab
changes and close."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint
from PySide6.QtWidgets import QFileDialog

from desktop_app.core.comments import outbox
from desktop_app.gui.community.comments_panel import CommentsPanel
from desktop_app.gui.community.sync_status import SyncStatus
from desktop_app.gui.community.sync_worker import (
    AFTER_CHANGE_MS,
    SyncOutcome,
    SyncWorker,
    pack_sites,
)
from desktop_app.gui.errors import show_error
from desktop_app.gui.reader.document_tab import DocumentTab
from desktop_app.gui.reader.markdown.markdown_view import MarkdownView
from desktop_app.gui.reader.pdf.pdf_view import PdfView

if TYPE_CHECKING:
    from desktop_app.gui.community.sign_in_dialog import SignInDialog
    from desktop_app.gui.window.main_window import MainWindow


def reading_place(tab: DocumentTab | None) -> str:
    """Where the reader is: "page 4" in a PDF; in a case study the heading above the
    reading cursor when it is in view (a click, a search hit, a Contents jump), else
    above the top of the view ("" before any heading)."""
    view = tab.view if tab is not None else None
    if isinstance(view, PdfView):
        return f"page {view.page_label(view.current_page())}" if view.page_count() else ""
    if isinstance(view, MarkdownView):
        if view.viewport().rect().intersects(view.cursorRect()):
            block = view.textCursor().block()
        else:
            block = view.cursorForPosition(QPoint(view.viewport().width() // 2, 4)).block()
        while block.isValid():
            if block.blockFormat().headingLevel() > 0 and block.text().strip():
                return block.text().strip()
            block = block.previous()
    return ""


class Community(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.conn = window.conn
        self.panel = CommentsPanel(self.conn, window)
        self.panel.place_provider = self._place
        self.worker = SyncWorker(window.paths.store_file, self.conn, self)
        self.status = SyncStatus(self.conn, self.worker, window)
        self.sign_in_dialog: SignInDialog | None = None
        self._tab: DocumentTab | None = None
        self._asked = False  # the reader pressed Sync now: tell them how it went

        self.panel.external_link_clicked.connect(window.open_external_link)
        self.panel.comments_changed.connect(self._comments_changed)
        self.worker.comment_changed.connect(lambda _comment: self.panel.refresh())
        self.worker.finished.connect(self._finished)
        self.status.sign_in_requested.connect(self.open_sign_in)
        self.status.sync_requested.connect(self.sync_now)
        self.worker.start_up()

    # --- the window's hooks -------------------------------------------------------------
    def set_document(self, tab: DocumentTab | None) -> None:
        if self._tab is not None and self._tab is not tab:
            with contextlib.suppress(RuntimeError, TypeError):  # the tab may be gone
                self._tab.position_changed.disconnect(self._place_changed)
        changed = tab is not self._tab
        self._tab = tab
        if tab is None:
            self.panel.set_context(None, None, "")
            return
        self.panel.set_context(tab.record.pack_id, tab.record.doc_id, tab.title)
        if changed:
            tab.position_changed.connect(self._place_changed)
        self._place_changed()

    def set_read_only(self, reason: str) -> None:
        self.worker.disable(reason)
        self.panel.set_read_only(reason)
        self.status.refresh()

    def close(self) -> None:
        if not self.worker.stop():
            # A request already on the wire: the thread ends when it returns; the
            # comment's "sending" state lets the next start ask the site about it.
            self.window.statusBar().showMessage("Stopping comment sync…")

    # --- actions --------------------------------------------------------------------------
    def sync_now(self) -> bool:
        if self.worker.disabled_reason:
            self._tell(f"Comments cannot be synced: the library is read-only "
                       f"({self.worker.disabled_reason}).")
            return False
        if self.worker.is_running():
            self._tell("Comments are being synced already.")
            return False
        self._asked = self.worker.sync_now()
        return self._asked

    def open_sign_in(self, site_url: str = "") -> SignInDialog:
        from desktop_app.gui.community.sign_in_dialog import (
            SignInDialog,  # loaded when first asked for
        )

        if self.sign_in_dialog is not None:
            self.sign_in_dialog.close()
            self.sign_in_dialog.deleteLater()
        dialog = SignInDialog(self.conn, pack_sites(self.conn), site_url, self.window)
        dialog.signed_in.connect(self._signed_in)
        self.sign_in_dialog = dialog
        dialog.open()
        return dialog

    def export_comments(self) -> Path | None:
        comments = outbox.list_comments(self.conn)
        if not comments:
            self._tell("You have not written any comments yet.")
            return None
        name, _filter = QFileDialog.getSaveFileName(
            self.window, "Export my comments", str(Path.home() / "my-comments.md"),
            "Markdown (*.md)")
        if not name:
            return None
        path = Path(name)
        try:
            path.write_text(outbox.as_markdown(comments), encoding="utf-8")
        except OSError as exc:
            show_error(self.window, f"{path} could not be written: {exc.strerror}.",
                       "Comments not exported")
            return None
        noun = "comment" if len(comments) == 1 else "comments"
        self._tell(f"Exported {len(comments)} {noun} to {path}.")
        return path

    # --- reactions ------------------------------------------------------------------------
    def _place(self) -> str:
        with contextlib.suppress(RuntimeError):  # the tab was deleted while closing
            return reading_place(self._tab)
        return ""

    def _place_changed(self) -> None:
        self.panel.update_place()

    def _comments_changed(self) -> None:
        self.status.refresh()
        self.worker.sync_later(AFTER_CHANGE_MS)

    def _signed_in(self, _site_url: str) -> None:
        if not self.worker.sync_now():
            self.worker.sync_later(AFTER_CHANGE_MS)

    def _finished(self, outcome: SyncOutcome) -> None:
        self.panel.refresh()
        if self._asked or (outcome.report and (outcome.report.sent or outcome.report.held
                                               or outcome.report.rejected)):
            self._tell(f"Comments: {outcome.summary}")
        self._asked = False

    def _tell(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 8000)
