"""The Comments panel as a reader uses it: writing a comment (saved at once), editing,
withdrawing and undoing, a refused comment's reason, the thread as brought down
(shown without loading anything), and documents that have no discussion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from desktop_app.core.comments import outbox, threads
from desktop_app.core.comments.wordpress import RemoteComment
from desktop_app.core.my_documents import add_document
from desktop_app.core.packs.signing import SecretKey
from desktop_app.gui.community.comments_panel import CommentsPanel
from desktop_app.gui.window.main_window import MainWindow
from tests.gui.checks import Opened, unnamed_controls
from tests.gui.community import CASE, GUIDE, PACK, closed_port_url, library_with_site
from tests.gui.windows import open_window
from tests.packfactory import PackFactory

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def site_url() -> str:
    return closed_port_url()


@pytest.fixture
def win(qtbot: QtBot, tmp_path: Path, packs: PackFactory, publisher_key: SecretKey,
        site_url: str) -> Iterator[MainWindow]:
    window = open_window(qtbot, library_with_site(tmp_path, packs, publisher_key, site_url))
    yield window
    window.close()
    window.conn.close()


def open_comments(qtbot: QtBot, window: MainWindow, doc: str = CASE) -> CommentsPanel:
    assert window.open_document(PACK, doc) is not None
    window.comments_dock.toggleViewAction().trigger()
    assert window.comments_dock.isVisible()
    panel = window.community.panel
    qtbot.waitUntil(lambda: not panel._dirty)
    return panel


def write(qtbot: QtBot, panel: CommentsPanel, text: str) -> None:
    panel.compose.setFocus()
    qtbot.keyClicks(panel.compose, text)
    qtbot.keyClick(panel.compose, Qt.Key.Key_Return, CTRL)


def cards_text(panel: CommentsPanel) -> list[str]:
    return [f"{c.header.text()} | {c.state.text()} | {c.entry.text}" for c in panel.cards]


def test_ctrl_return_queues_the_comment_in_the_store_and_shows_it_waiting(
    qtbot: QtBot, win: MainWindow
) -> None:
    panel = open_comments(qtbot, win)
    write(qtbot, panel, "We ran a listening exercise first.")

    [comment] = outbox.list_comments(win.conn)
    assert (comment.doc_id, comment.body, comment.state) == (CASE, "We ran a listening "
                                                             "exercise first.", "queued")
    [card] = panel.cards
    assert card.header.text().startswith("You · ")
    assert card.state.text() == "Waiting to send"
    assert panel.compose.toPlainText() == ""
    assert "saved here" in panel.message.text()
    assert win.community.status.text() == "1 comment waiting"
    # Sent a little later (time to fix a typo), not at once.
    assert win.community.worker.timer.isActive()
    assert not win.community.worker.is_running()


def test_an_empty_comment_is_refused_with_the_reason(qtbot: QtBot, win: MainWindow) -> None:
    panel = open_comments(qtbot, win)
    write(qtbot, panel, "   ")
    assert outbox.list_comments(win.conn) == []
    assert panel.message.text() == "The comment is empty."


def test_about_is_filled_with_the_heading_in_view_and_stored_with_the_comment(
    qtbot: QtBot, win: MainWindow
) -> None:
    panel = open_comments(qtbot, win)
    tab = win.current_tab()
    assert tab is not None
    assert panel.about.text() == "A case study"
    tab.view.go_to_anchor("lessons")  # as the Contents panel does
    panel.about_check.setChecked(True)
    assert panel.about.text() == "Lessons"
    write(qtbot, panel, "Publishing what we heard took courage.")

    [comment] = outbox.list_comments(win.conn)
    assert comment.section == "Lessons"
    assert any(label.text() == "About: Lessons" for label in panel.cards[0].findChildren(
        type(panel.message)))


def test_about_names_the_page_in_a_pdf(qtbot: QtBot, win: MainWindow) -> None:
    panel = open_comments(qtbot, win, GUIDE)
    qtbot.waitUntil(lambda: panel.about.text() == "page 1", timeout=10_000)


def test_editing_a_waiting_comment_changes_it_in_the_store(
    qtbot: QtBot, win: MainWindow
) -> None:
    panel = open_comments(qtbot, win)
    write(qtbot, panel, "First thuoghts.")
    [card] = panel.cards
    qtbot.mouseClick(card.buttons["edit"], Qt.MouseButton.LeftButton)
    assert panel.compose.toPlainText() == "First thuoghts."
    assert panel.queue_button.text() == "Save changes"

    panel.compose.selectAll()
    write(qtbot, panel, "First thoughts.")

    [comment] = outbox.list_comments(win.conn)
    assert comment.body == "First thoughts." and comment.state == "queued"
    assert [c.entry.text for c in panel.cards] == ["First thoughts."]
    assert panel.queue_button.text() == "Queue comment"


def test_escape_cancels_an_edit_and_leaves_the_comment_as_it_was(
    qtbot: QtBot, win: MainWindow
) -> None:
    panel = open_comments(qtbot, win)
    write(qtbot, panel, "Keep me.")
    qtbot.mouseClick(panel.cards[0].buttons["edit"], Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.compose, " and this")
    qtbot.keyClick(panel.compose, Qt.Key.Key_Escape)
    assert panel.compose.toPlainText() == ""
    assert outbox.list_comments(win.conn)[0].body == "Keep me."


def test_withdraw_removes_the_comment_and_undo_brings_it_back(
    qtbot: QtBot, win: MainWindow
) -> None:
    panel = open_comments(qtbot, win)
    write(qtbot, panel, "On second thoughts...")
    [card] = panel.cards
    qtbot.mouseClick(card.buttons["withdraw"], Qt.MouseButton.LeftButton)

    assert outbox.list_comments(win.conn)[0].state == "withdrawn"
    assert panel.cards == []
    assert panel.undo_button.isVisible()
    assert win.community.status.text() == ""  # nothing waits any more

    qtbot.mouseClick(panel.undo_button, Qt.MouseButton.LeftButton)
    assert outbox.list_comments(win.conn)[0].state == "queued"
    assert [c.state.text() for c in panel.cards] == ["Waiting to send"]
    assert not panel.undo_button.isVisible()


def test_ctrl_z_in_the_panel_undoes_a_withdrawal_not_the_last_note(
    qtbot: QtBot, win: MainWindow
) -> None:
    panel = open_comments(qtbot, win)
    write(qtbot, panel, "Withdraw me.")
    qtbot.mouseClick(panel.cards[0].buttons["withdraw"], Qt.MouseButton.LeftButton)
    panel.about_check.setFocus()
    qtbot.keyClick(panel.about_check, Qt.Key.Key_Z, CTRL)
    assert outbox.list_comments(win.conn)[0].state == "queued"


def test_a_refused_comment_shows_the_reason_can_be_copied_and_sent_again(
    qtbot: QtBot, win: MainWindow
) -> None:
    comment = outbox.add_comment(win.conn, PACK, CASE, "Is the toolkit online?")
    outbox.mark_rejected(win.conn, comment.uuid, "Comments are closed on this discussion.")
    panel = open_comments(qtbot, win)
    [card] = panel.cards
    assert card.state.text() == "⚠ Refused: Comments are closed on this discussion."
    assert set(card.buttons) == {"edit", "withdraw", "copy", "retry"}

    qtbot.mouseClick(card.buttons["copy"], Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "Is the toolkit online?"

    qtbot.mouseClick(card.buttons["retry"], Qt.MouseButton.LeftButton)
    assert outbox.get_comment(win.conn, comment.uuid).state == "queued"
    assert [c.state.text() for c in panel.cards] == ["Waiting to send"]


def test_cards_fit_a_narrow_dock_without_cutting_text_or_buttons(
    qtbot: QtBot, win: MainWindow
) -> None:
    comment = outbox.add_comment(win.conn, PACK, CASE, "Is the toolkit online?")
    outbox.mark_rejected(win.conn, comment.uuid, "Comments are closed on this discussion.")
    panel = open_comments(qtbot, win)
    win.resizeDocks([win.comments_dock], [260], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: win.comments_dock.width() <= 280)
    viewport = panel.scroll.viewport().width()
    [card] = panel.cards
    # Nothing wider than what is shown: no text or button cut off at the right edge.
    assert card.minimumSizeHint().width() <= viewport
    for button in card.buttons.values():
        right = button.mapTo(panel.scroll.viewport(), button.rect().topRight()).x()
        assert right <= viewport, button.text()


def test_a_document_without_a_discussion_site_says_so_and_cannot_be_commented(
    qtbot: QtBot, win: MainWindow, tmp_path: Path
) -> None:
    note = tmp_path / "Committee notes.md"
    note.write_text("# Committee notes\n\nGritting routes for the winter.\n")
    record = add_document(win.conn, note)
    win.library.refresh()
    panel = open_comments(qtbot, win, CASE)
    assert panel.compose.isEnabled()

    assert win.open_document(record.pack_id, record.doc_id) is not None
    assert "has no discussion on a community site" in panel.notice.text()
    assert panel.notice.isVisible()
    assert not panel.compose.isEnabled() and not panel.queue_button.isEnabled()
    panel.submit()
    assert outbox.list_comments(win.conn) == []


def test_the_thread_is_shown_as_brought_down_and_loads_nothing(
    qtbot: QtBot, win: MainWindow, site_url: str
) -> None:
    hostile = ('<p>See <a href="https://example.org/leeds">our write-up</a>.</p>'
               '<img src="https://tracker.example/pixel.gif"><script>alert(1)</script>'
               '<a href="javascript:alert(2)">click</a>')
    threads.store_thread(win.conn, site_url, "102", [
        RemoteComment(501, "102", 0, "Priya", "2026-10-02T09:14:00", hostile,
                      f"{site_url}/?c=501", "approved"),
        RemoteComment(502, "102", 0, "Sam", "2026-10-03T16:40:00",
                      "<p>How long did the pilot run?</p>", f"{site_url}/?c=502",
                      "approved")], total=2, complete=True)
    mine = outbox.add_comment(win.conn, PACK, CASE, "Six weeks.")
    panel = open_comments(qtbot, win)

    assert [c.header.text().split(" · ")[0] for c in panel.cards] == ["Priya", "Sam", "You"]
    assert panel.fetched.text().startswith("Last brought down: ")
    body = panel.cards[0].body
    assert body.toPlainText().split() == ["See", "our", "write-up.", "click"]
    html = body.document().toHtml()
    assert "tracker.example" not in html and "javascript" not in html
    assert panel.card_for(mine.uuid).state.text() == "Waiting to send"

    opened = Opened()
    for scheme in ("https", "javascript"):
        QDesktopServices.setUrlHandler(scheme, opened, "open")
    try:
        body.anchorClicked.emit(QUrl("https://example.org/leeds"))
        body.anchorClicked.emit(QUrl("javascript:alert(2)"))
    finally:
        for scheme in ("https", "javascript"):
            QDesktopServices.unsetUrlHandler(scheme)
    assert opened.urls == ["https://example.org/leeds"]


def test_a_document_never_brought_down_says_how_to_get_the_discussion(
    qtbot: QtBot, win: MainWindow
) -> None:
    panel = open_comments(qtbot, win)
    assert "never" in panel.fetched.text() and "F9" in panel.fetched.text()
    assert panel.empty.text() == "No comments yet."


def test_export_my_comments_writes_markdown(qtbot: QtBot, win: MainWindow) -> None:
    outbox.add_comment(win.conn, PACK, CASE, "Worth sharing with the comms team.",
                       section="Lessons")

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QFileDialog):
            dialog.accept()

    timer = QTimer()
    timer.timeout.connect(answer)
    timer.start(50)
    try:
        written = win.community.export_comments()
    finally:
        timer.stop()
    assert written is not None and written.name == "my-comments.md"
    text = written.read_text()
    assert "## Case one — Lessons" in text and "Worth sharing with the comms team." in text
    assert win.statusBar().currentMessage() == f"Exported 1 comment to {written}."


def test_every_control_of_the_panel_and_the_sign_in_dialog_has_an_accessible_name(
    qtbot: QtBot, win: MainWindow, site_url: str
) -> None:
    threads.store_thread(win.conn, site_url, "102", [
        RemoteComment(501, "102", 0, "Priya", "2026-10-02T09:14:00",
                      '<p>See <a href="https://example.org/">this</a>.</p>', "", "approved")],
        total=1, complete=True)
    refused = outbox.add_comment(win.conn, PACK, CASE, "Refused one.")
    outbox.mark_rejected(win.conn, refused.uuid, "Comments are closed on this discussion.")
    outbox.add_comment(win.conn, PACK, CASE, "Waiting one.")
    panel = open_comments(qtbot, win)
    panel.about_check.setChecked(True)
    assert len(panel.cards) == 3
    assert unnamed_controls(panel) == []
    win.sign_in_action.trigger()
    dialog = win.community.sign_in_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert unnamed_controls(dialog) == []


def test_the_panel_follows_the_current_tab_and_is_remembered_after_a_restart(
    qtbot: QtBot, win: MainWindow
) -> None:
    panel = open_comments(qtbot, win, GUIDE)
    assert panel.title.text() == "The guide"
    win.open_document(PACK, CASE)
    assert panel.title.text() == "Case one"
    win.close_current_tab()
    assert panel.title.text() == "The guide"
    win.close_current_tab()
    assert panel.title.text() == "" and not panel.compose.isEnabled()
    win.close()

    again = open_window(qtbot, win.paths)
    try:
        assert again.comments_dock.isVisible()
    finally:
        again.close()
        again.conn.close()


def test_the_discussion_links_to_its_post_on_the_site_with_its_count(
    qtbot: QtBot, win: MainWindow, site_url: str
) -> None:
    panel = open_comments(qtbot, win)
    assert panel.on_site.text().endswith("· not brought down yet")
    threads.store_thread(win.conn, site_url, "102", [
        RemoteComment(n, "102", 0, "Priya", f"2026-10-0{n - 500}T09:14:00", "<p>Yes.</p>",
                      f"{site_url}/?c={n}", "approved") for n in (501, 502, 503)],
        total=3, complete=True)
    panel.refresh()
    assert "Open on the site</a> · 3 comments on the site" in panel.on_site.text()
    opened = Opened()
    QDesktopServices.setUrlHandler("http", opened, "open")
    try:
        panel.on_site.linkActivated.emit(f"{site_url}/?p=102")  # as a click on the link
    finally:
        QDesktopServices.unsetUrlHandler("http")
    assert opened.urls == [f"{site_url}/?p=102"]
    assert f'href="{site_url}/?p=102"' in panel.on_site.text()


def test_the_sample_packs_example_site_is_said_to_be_one(qtbot: QtBot, window) -> None:
    assert window.open_document("org.casebook.sample.local-by-social",
                                "kent-digital-technology") is not None
    window.comments_dock.toggleViewAction().trigger()
    panel = window.community.panel
    qtbot.waitUntil(lambda: not panel._dirty)
    assert "an example that does not exist" in panel.on_site.text()
    assert "Open on the site" not in panel.on_site.text()
