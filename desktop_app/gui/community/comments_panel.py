"""The Comments panel: the open document's thread on the community site as last
brought down, the reader's own comments in place with where each one is, and a box
to write a new one.

Comments from the site are HTML, sanitised by the core before they were stored, and
shown through :class:`~desktop_app.gui.reader.markdown.markdown_view.SafeDocument`, which loads no
resource of any kind: no remote image, no local file. Links are reported on a click
and the window's link policy decides (http, https and mailto only).

A queued comment is in the store before ``Queue comment`` returns (the outbox
commits first); the panel only shows what the store says.
"""

from __future__ import annotations

import html
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QKeySequence, QPalette, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.comments import outbox
from desktop_app.core.comments.discussion import Discussion, count_words, discussion_of
from desktop_app.core.comments.outbox import CommentError, OutboxComment
from desktop_app.core.comments.threads import ThreadEntry, thread_for_document
from desktop_app.core.errors import CasebookError
from desktop_app.core.inert_text import isolate
from desktop_app.gui.errors import show_error
from desktop_app.gui.reader.markdown.markdown_view import SafeDocument, link_kind

STATE_WORDS = {"queued": "Waiting to send", "sending": "Sending…", "sent": "Sent",
               "held": "Awaiting moderation", "rejected": "Refused"}
PLACEHOLDER = ("Write a comment on this document. It is saved here at once and sent "
               "to the community site at the next sync.")
NEVER_FETCHED = "Last brought down: never — Sync now (F9) brings the discussion down."


def discussion_problem(conn: sqlite3.Connection, pack_id: str, doc_id: str) -> str:
    """Why comments cannot be written on a document ("" when they can), in the core's
    words. The core's check reads only (nothing is queued)."""
    try:
        outbox.comment_address(conn, pack_id, doc_id)
    except CommentError as exc:
        return str(exc)
    return ""


def site_line(discussion: Discussion | None) -> str:
    """The discussion's link and length, as rich text ("" when there is none)."""
    if discussion is None:
        return ""
    if discussion.example:
        return ("The community site of this sample pack is an example that does not exist: "
                "comments written here stay on this computer.")
    link = html.escape(discussion.link, quote=True)
    return f'<a href="{link}">Open on the site</a> · {count_words(discussion.count)}'


def shown_date(iso: str) -> str:
    """An ISO UTC time as the reader's local date and time."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return moment.astimezone().strftime("%d %b %Y, %H:%M").lstrip("0")


def state_text(entry: ThreadEntry, comment: OutboxComment | None = None) -> str:
    """Where the reader's own comment is, in words ("" for others' comments)."""
    if entry.state == "rejected":
        return f"⚠ Refused: {entry.reason or 'the site did not take it'}"
    words = STATE_WORDS.get(entry.state, "")
    if entry.state == "queued" and comment is not None and comment.next_attempt_at:
        words += f" · next try {shown_date(comment.next_attempt_at).split(', ')[-1]}"
    if entry.state == "queued" and entry.reason:
        words += f" · {entry.reason}"
    return words


class CommentBody(QTextBrowser):
    """One comment's sanitised HTML, as tall as its text, loading nothing."""

    external_link_clicked = Signal(QUrl)

    def __init__(self, html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        document = SafeDocument(lambda _path: None, self)  # no pack images either
        document.setUndoRedoEnabled(False)
        document.setDocumentMargin(2)
        document.set_safe_html(html)  # before setDocument, which lays it out
        self.setDocument(document)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.viewport().setAutoFillBackground(False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setAccessibleName("Comment text")
        self.anchorClicked.connect(self._on_link)
        document.documentLayout().documentSizeChanged.connect(lambda _size: self._fit())
        self._fit()

    def loadResource(self, type: int, name: QUrl) -> Any:
        return None  # SafeDocument answers its own resources; nothing else loads here

    def doSetSource(self, name: QUrl, type: Any = None) -> None:
        """Never navigate."""

    def _on_link(self, url: QUrl) -> None:
        if link_kind(url) == "external":
            self.external_link_clicked.emit(QUrl(url))

    def _fit(self) -> None:
        height = int(self.document().size().height()) + 2
        if self.height() != height:
            self.setFixedHeight(height)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(200, self.height())


class CommentCard(QFrame):
    """One comment: who and when, the text, and for the reader's own, where it is and
    what can still be done with it."""

    def __init__(self, entry: ThreadEntry, comment: OutboxComment | None,
                 panel: CommentsPanel) -> None:
        super().__init__(panel)
        self.entry = entry
        own = bool(entry.uuid)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase if own
                               else QPalette.ColorRole.Base)
        # Names come from the site: isolated, so a right-to-left name cannot reorder the date.
        who = "You" if own else isolate(entry.author)
        if own and entry.state == "on-site" and entry.author:
            who = f"{isolate(entry.author)} (you)"
        self.header = QLabel(f"{who} · {shown_date(entry.date)}", self)
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setWordWrap(True)  # long names must not widen a narrow dock
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        self.state = QLabel(state_text(entry, comment), self)
        self.state.setTextFormat(Qt.TextFormat.PlainText)
        self.state.setWordWrap(True)
        self.state.setAccessibleName("Where this comment is")
        self.state.setVisible(bool(self.state.text()))
        if entry.state in ("rejected", "sending", "queued", "held"):
            # A style sheet, not setFont: a font set here is lost when the card moves
            # into the scroll area.
            self.state.setStyleSheet("font-weight: bold;" if entry.state == "rejected"
                                     else "font-style: italic;")
        self.body = CommentBody(entry.html, self)
        self.body.setAccessibleDescription(entry.text[:500])
        self.body.external_link_clicked.connect(panel.external_link_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        layout.addWidget(self.header)
        layout.addWidget(self.state)
        if comment is not None and comment.section and entry.state != "on-site":
            about = QLabel(f"About: {isolate(comment.section)}", self)
            about.setTextFormat(Qt.TextFormat.PlainText)
            about.setWordWrap(True)
            layout.addWidget(about)
        layout.addWidget(self.body)
        self.buttons: dict[str, QPushButton] = {}
        actions: list[tuple[str, str, Callable[[str], None]]] = []
        if entry.state in outbox.EDITABLE:
            actions += [("edit", "Edit", panel.start_edit), ("withdraw", "Withdraw",
                                                             panel.withdraw)]
        if entry.state == "rejected":
            actions += [("copy", "Copy text", panel.copy_text),
                        ("retry", "Send again", panel.send_again)]
        if entry.state in ("sent", "held") and entry.link:
            actions.append(("open", "Open on the site", panel.open_on_site))
        if actions:
            # Two to a row: four in one line would not fit a narrow dock.
            grid = QGridLayout()
            grid.setSpacing(4)
            for index, (key, text, slot) in enumerate(actions):
                button = QPushButton(text, self)
                button.setAccessibleName(f"{text} ({who}, {shown_date(entry.date)})")
                button.clicked.connect(lambda _checked=False, s=slot: s(entry.uuid))
                grid.addWidget(button, index // 2, index % 2)
                self.buttons[key] = button
            grid.setColumnStretch(2, 1)
            layout.addLayout(grid)
        self.setAccessibleName(f"Comment by {who}, {shown_date(entry.date)}"
                               + (f", {self.state.text()}" if self.state.text() else ""))


class CommentsPanel(QWidget):
    external_link_clicked = Signal(QUrl)
    comments_changed = Signal()  # the reader queued, changed, withdrew or restored one

    def __init__(self, conn: sqlite3.Connection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._conn = conn
        self._context: tuple[str, str] | None = None
        self._problem = ""
        self._read_only = ""
        self._editing: str | None = None  # uuid of the comment in the compose box
        self._withdrawn: list[str] = []  # for Undo, most recent last
        self._shown: tuple[Any, ...] | None = None
        self._dirty = True
        self._place_typed = False
        self.cards: list[CommentCard] = []
        self.place_provider: Callable[[], str] | None = None

        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setAccessibleName("Document")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.fetched = QLabel(self)
        self.fetched.setTextFormat(Qt.TextFormat.PlainText)
        self.fetched.setWordWrap(True)
        self.fetched.setAccessibleName("When the discussion was last brought down")
        self.on_site = QLabel(self)  # "Open on the site · 3 comments on the site"
        self.on_site.setTextFormat(Qt.TextFormat.RichText)
        self.on_site.setWordWrap(True)
        self.on_site.setAccessibleName("The discussion on the community site")
        self.on_site.linkActivated.connect(lambda url: self.external_link_clicked.emit(QUrl(url)))
        self.notice = QLabel(self)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("Comments not possible")
        self.notice.hide()

        self.thread = QWidget(self)
        self.thread_layout = QVBoxLayout(self.thread)
        self.thread_layout.setContentsMargins(2, 2, 2, 2)
        self.thread_layout.setSpacing(6)
        self.empty = QLabel(self.thread)
        self.empty.setTextFormat(Qt.TextFormat.PlainText)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thread_layout.addWidget(self.empty)
        self.thread_layout.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.thread)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setAccessibleName("Discussion")
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.message = QLabel(self)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Comments message")
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setToolTip("Bring back the withdrawn comment (Ctrl+Z)")
        self.undo_button.setAccessibleName("Undo withdraw")
        self.undo_button.clicked.connect(self.undo_withdraw)
        self.undo_button.hide()

        self.about_check = QCheckBox("About:", self)
        self.about_check.setToolTip("Say which part of the document the comment is about")
        self.about_check.setAccessibleName("The comment is about a part of the document")
        self.about = QLineEdit(self)
        self.about.setPlaceholderText("a section or page (optional)")
        self.about.setAccessibleName("Which part the comment is about")
        self.about.setEnabled(False)
        self.about_check.toggled.connect(self.about.setEnabled)
        self.about_check.toggled.connect(lambda on: on and self.update_place())
        self.about.textEdited.connect(lambda _text: setattr(self, "_place_typed", True))
        self.compose = QPlainTextEdit(self)
        self.compose.setPlaceholderText(PLACEHOLDER)
        self.compose.setAccessibleName("New comment")
        self.compose.setAccessibleDescription(
            "Your comment. Ctrl+Return queues it; it is sent at the next sync.")
        self.compose.setTabChangesFocus(True)
        self.compose.setMaximumHeight(96)
        self.compose.installEventFilter(self)
        self.queue_button = QPushButton("Queue comment", self)
        self.queue_button.setToolTip("Save the comment here and send it at the next sync "
                                     "(Ctrl+Return)")
        self.queue_button.clicked.connect(self.submit)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop editing; the comment stays as it was (Esc)")
        self.cancel_button.clicked.connect(self.cancel_edit)
        self.cancel_button.hide()
        for sequence in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(sequence), self, self.submit,
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self.compose, self.cancel_edit,
                  context=Qt.ShortcutContext.WidgetShortcut)

        message_row = QHBoxLayout()
        message_row.addWidget(self.message, 1)
        message_row.addWidget(self.undo_button)
        about_row = QHBoxLayout()
        about_row.addWidget(self.about_check)
        about_row.addWidget(self.about, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.queue_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.fetched)
        layout.addWidget(self.on_site)
        layout.addWidget(self.notice)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(message_row)
        layout.addLayout(about_row)
        layout.addWidget(self.compose)
        layout.addLayout(buttons)
        self.set_context(None, None, "")

    # --- what is shown ------------------------------------------------------------------
    def set_context(self, pack_id: str | None, doc_id: str | None, title: str) -> None:
        context = (pack_id, doc_id) if pack_id and doc_id else None
        if context != self._context:
            self.cancel_edit()
            self._place_typed = False
            self.about.clear()
            self.about_check.setChecked(False)
        self._context = context
        self.update_place()
        self.title.setText(isolate(title))
        self._problem = (discussion_problem(self._conn, *context) if context
                         else "Open a document to read and write comments on it.")
        self._shown = None
        self._update_compose()
        self.refresh()

    def set_read_only(self, reason: str) -> None:
        self._read_only = reason
        self._update_compose()

    def update_place(self) -> None:
        """Where the reader is (a heading or a page) goes in "About:" unless they typed
        something there themselves."""
        place = self.place_provider() if self.place_provider is not None else ""
        if not self._place_typed and self.about.text() != place:
            self.about.setText(place)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.compose and event.type() == QEvent.Type.FocusIn:
            self.update_place()  # the reader may have clicked in the text meanwhile
        return super().eventFilter(watched, event)

    def refresh(self) -> None:
        """Show the store's thread; cheap when nothing changed, deferred while hidden."""
        if not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        entries: list[ThreadEntry] = []
        own: dict[str, OutboxComment] = {}
        fetched: str | None = None
        if self._context is not None and not self._problem:
            entries, fetched = thread_for_document(self._conn, *self._context)
            own = {c.uuid: c for c in outbox.list_comments(
                self._conn, pack_id=self._context[0], doc_id=self._context[1])}
        if self._context is None or self._problem:
            self.fetched.setText("")
        elif fetched:
            self.fetched.setText(f"Last brought down: {shown_date(fetched)}")
        else:
            self.fetched.setText(NEVER_FETCHED)
        self.fetched.setVisible(bool(self.fetched.text()))
        self.on_site.setText(site_line(discussion_of(self._conn, *self._context))
                             if self._context is not None else "")
        self.on_site.setVisible(bool(self.on_site.text()))
        shown = (self._context, tuple(entries), tuple(own.values()))
        if shown == self._shown:
            return
        new_own = self._new_own(entries)
        self._shown = shown
        self._rebuild(entries, own)
        if new_own is not None:
            QTimer.singleShot(0, lambda: self._reveal(new_own))

    def _new_own(self, entries: list[ThreadEntry]) -> str | None:
        """The reader's comment that just appeared (to scroll to it)."""
        if self._shown is None or self._shown[0] != self._context:
            return None
        before = {e.uuid for e in self._shown[1] if e.uuid}
        added = [e.uuid for e in entries if e.uuid and e.uuid not in before]
        return added[-1] if added else None

    def _rebuild(self, entries: list[ThreadEntry], own: dict[str, OutboxComment]) -> None:
        for card in self.cards:
            self.thread_layout.removeWidget(card)
            card.deleteLater()
        self.cards = []
        for index, entry in enumerate(entries):
            card = CommentCard(entry, own.get(entry.uuid), self)
            self.thread_layout.insertWidget(index, card)
            self.cards.append(card)
        if self._context is None or self._problem or entries:
            self.empty.setText("")
        else:
            self.empty.setText("No comments yet.")
        self.empty.setVisible(bool(self.empty.text()))

    def _reveal(self, uuid: str) -> None:
        card = self.card_for(uuid)
        if card is not None:
            self.scroll.ensureWidgetVisible(card)

    def card_for(self, uuid: str) -> CommentCard | None:
        return next((c for c in self.cards if c.entry.uuid == uuid), None)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            QTimer.singleShot(0, self.refresh)

    def _update_compose(self) -> None:
        reason = self._read_only and (f"The library is read-only ({self._read_only}): "
                                      "comments cannot be written.")
        reason = reason or self._problem
        self.notice.setText(reason if self._context is not None or self._read_only else "")
        self.notice.setVisible(bool(self.notice.text()))
        enabled = not reason
        for widget in (self.compose, self.queue_button, self.about_check):
            widget.setEnabled(enabled)
        self.about.setEnabled(enabled and self.about_check.isChecked())
        if self._context is None:
            self.compose.setPlaceholderText("Open a document to write a comment on it.")
        elif reason:
            self.compose.setPlaceholderText("Comments cannot be written on this document.")
        else:
            self.compose.setPlaceholderText(PLACEHOLDER)

    def _say(self, text: str, undo: bool = False) -> None:
        self.message.setText(text)
        self.undo_button.setVisible(undo)

    # --- writing --------------------------------------------------------------------------
    def submit(self) -> None:
        """Queue the new comment, or save the one being edited (Ctrl+Return)."""
        if self._context is None or not self.queue_button.isEnabled():
            return
        body = self.compose.toPlainText()
        try:
            if self._editing:
                comment = outbox.edit_comment(self._conn, self._editing, body)
                said = "Changed. It will be sent at the next sync."
            else:
                section = self.about.text().strip() if self.about_check.isChecked() else ""
                comment = outbox.add_comment(self._conn, *self._context, body, section=section)
                said = "Queued: saved here, and sent at the next sync."
        except CommentError as exc:
            self._say(str(exc))
            return
        except CasebookError as exc:
            show_error(self, exc, "Comment not saved")
            return
        self._editing = None
        self.compose.clear()
        self._end_edit_mode()
        self._place_typed = False
        self._say(said)
        self.refresh()
        QTimer.singleShot(0, lambda: self._reveal(comment.uuid))
        self.comments_changed.emit()

    def start_edit(self, uuid: str) -> None:
        try:
            comment = outbox.get_comment(self._conn, uuid)
        except CommentError as exc:
            self._say(str(exc))
            return
        if comment.state not in outbox.EDITABLE:
            self._say("That comment can no longer be changed here.")
            self.refresh()
            return
        self._editing = uuid
        self.compose.setPlainText(comment.body)
        self.queue_button.setText("Save changes")
        self.cancel_button.show()
        self._say("Editing your comment: Ctrl+Return saves, Esc cancels.")
        self.compose.setFocus()

    def cancel_edit(self) -> None:
        if self._editing is None:
            return
        self._editing = None
        self.compose.clear()
        self._end_edit_mode()
        self._say("")

    def _end_edit_mode(self) -> None:
        self.queue_button.setText("Queue comment")
        self.cancel_button.hide()

    def withdraw(self, uuid: str) -> None:
        if not self._change(outbox.withdraw_comment, uuid):
            return
        if self._editing == uuid:
            self.cancel_edit()
        self._withdrawn.append(uuid)
        self._say("Comment withdrawn: it will not be sent.", undo=True)

    def undo_withdraw(self) -> None:
        """Bring back the comment withdrawn last (Undo, or Ctrl+Z in the panel)."""
        if not self._withdrawn:
            return
        uuid = self._withdrawn.pop()
        if self._change(outbox.restore_comment, uuid):
            self._say("Comment brought back: waiting to send.", undo=bool(self._withdrawn))

    def send_again(self, uuid: str) -> None:
        if self._change(outbox.retry_comment, uuid):
            self._say("It will be sent again at the next sync.")

    def copy_text(self, uuid: str) -> None:
        try:
            comment = outbox.get_comment(self._conn, uuid)
        except CommentError as exc:
            self._say(str(exc))
            return
        QApplication.clipboard().setText(comment.body)
        self._say("The comment's text is on the clipboard.")

    def open_on_site(self, uuid: str) -> None:
        card = self.card_for(uuid)
        if card is not None and card.entry.link:
            self.external_link_clicked.emit(QUrl(card.entry.link))

    def _change(self, change: Callable[[sqlite3.Connection, str], Any], uuid: str) -> bool:
        try:
            change(self._conn, uuid)
        except CommentError as exc:
            self._say(str(exc))
            self.refresh()
            return False
        except CasebookError as exc:
            show_error(self, exc, "Comment not changed")
            return False
        self.refresh()
        self.comments_changed.emit()
        return True

    # --- Ctrl+Z in the panel undoes a withdrawal (the window's Undo is for notes) ----
    def event(self, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.ShortcutOverride and self._withdrawn
                and event.matches(QKeySequence.StandardKey.Undo)):
            event.accept()  # the key comes here as a key press, not as the window's Undo
            return True
        return super().event(event)

    def keyPressEvent(self, event: Any) -> None:
        if self._withdrawn and event.matches(QKeySequence.StandardKey.Undo):
            self.undo_withdraw()
            event.accept()
            return
        super().keyPressEvent(event)
