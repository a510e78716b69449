"""Highlights and notes in the window: made from a selection or a find result, listed,
edited, deleted and brought back with undo, and found by library search."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from desktop_app.core.annotations.store import annotate_quote, list_annotations
from desktop_app.core.library import active_document
from desktop_app.gui.notes.notes_io import ExportDialog
from desktop_app.gui.reader.document_tab import DocumentTab
from desktop_app.gui.window.main_window import MainWindow
from tests.gui.windows import PACK, open_guide

PHRASE = "What was harder"


def open_case(qtbot: QtBot, window: MainWindow) -> DocumentTab:
    tab = window.open_document(PACK, "brent-social-media")
    assert tab is not None
    window.notes_dock.show()
    return tab


def select_in_markdown(tab: DocumentTab, words: str) -> None:
    cursor = tab.view.document().find(words)
    assert not cursor.isNull()
    tab.view.setTextCursor(QTextCursor(cursor))


def listed(window: MainWindow) -> list[str]:
    return [window.notes_panel.list.item(i).text() for i in range(window.notes_panel.list.count())]


def test_a_selection_becomes_a_highlight_listed_in_the_notes_panel(
    qtbot: QtBot, window: MainWindow
) -> None:
    tab = open_case(qtbot, window)
    select_in_markdown(tab, PHRASE)

    window.highlight_action.trigger()

    [note] = list_annotations(window.conn, pack_id=PACK, doc_id="brent-social-media")
    assert note.quote == PHRASE and note.colour == "yellow"
    assert note.section == PHRASE
    assert any(PHRASE in row for row in listed(window))
    assert tab.view.extraSelections()  # painted in the text


def test_the_current_find_result_can_be_highlighted_from_the_keyboard(
    qtbot: QtBot, window: MainWindow
) -> None:
    tab = open_case(qtbot, window)
    window.find_action.trigger()
    qtbot.keyClicks(window.find_bar.field, "house rules")
    qtbot.waitUntil(lambda: "match" in window.find_bar.count.text(), timeout=5_000)
    qtbot.keyClick(window.find_bar.field, Qt.Key.Key_Return)  # go to the first result

    window.highlight_action.trigger()

    [note] = list_annotations(window.conn, pack_id=PACK, doc_id="brent-social-media")
    assert note.quote.casefold() == "house rules"
    assert tab is window.current_tab()


def test_undo_removes_a_new_highlight_and_redo_brings_it_back(
    qtbot: QtBot, window: MainWindow
) -> None:
    tab = open_case(qtbot, window)
    select_in_markdown(tab, PHRASE)
    window.highlight_action.trigger()
    assert len(listed(window)) == 1

    window.notes_panel.undo_stack.undo()
    assert listed(window) == []
    assert list_annotations(window.conn, pack_id=PACK) == []
    window.notes_panel.undo_stack.redo()
    assert len(listed(window)) == 1


def test_deleting_and_editing_a_note_from_the_panel_can_be_undone(
    qtbot: QtBot, window: MainWindow
) -> None:
    tab = open_case(qtbot, window)
    select_in_markdown(tab, PHRASE)
    window.highlight_action.trigger()
    [note] = list_annotations(window.conn)
    panel = window.notes_panel
    panel.list.setCurrentRow(0)

    panel.change_body(note, "Ask the comms team about this")
    assert "Ask the comms team about this" in listed(window)[0]
    panel.list.setCurrentRow(0)
    panel.list.setFocus()
    qtbot.keyClick(panel.list, Qt.Key.Key_Delete)
    assert listed(window) == []
    panel.undo_stack.undo()  # the delete
    panel.undo_stack.undo()  # the edit
    [back] = list_annotations(window.conn)
    assert back.body == "" and back.deleted is None


def test_choosing_a_note_in_the_pack_view_opens_its_document(
    qtbot: QtBot, window: MainWindow
) -> None:
    tab = open_case(qtbot, window)
    select_in_markdown(tab, PHRASE)
    window.highlight_action.trigger()
    window.close_current_tab()
    devon = window.open_document(PACK, "devon-digital-engagement")
    panel = window.notes_panel
    panel.scope.setCurrentIndex(1)  # all notes in this pack
    assert len(listed(window)) == 1
    panel.list.setCurrentRow(0)
    panel.list.setFocus()
    qtbot.keyClick(panel.list, Qt.Key.Key_Return)
    assert window.current_tab() is not devon
    assert window.current_tab().record.doc_id == "brent-social-media"


def test_notes_are_found_by_library_search_and_marked_as_yours(
    qtbot: QtBot, window: MainWindow
) -> None:
    tab = open_case(qtbot, window)
    select_in_markdown(tab, PHRASE)
    window.highlight_action.trigger()
    window.notes_panel.list.setCurrentRow(0)
    window.notes_panel.change_body(list_annotations(window.conn)[0], "zebra crossings idea")

    window.search_action.trigger()
    panel = window.search_panel
    qtbot.keyClicks(panel.field, "zebra")
    qtbot.waitUntil(lambda: panel.result_count() > 0, timeout=10_000)
    [hit] = panel.hits()
    assert hit.is_note and hit.doc_id == "brent-social-media"


def test_nothing_selected_gives_a_hint_not_an_error(qtbot: QtBot, window: MainWindow) -> None:
    open_case(qtbot, window)
    assert window.highlight() is None
    assert "Select some text first" in window.statusBar().currentMessage()


def test_a_pdf_selection_becomes_a_highlight_painted_on_the_page(
    qtbot: QtBot, window: MainWindow
) -> None:
    tab = open_guide(qtbot, window)
    view = tab.view
    page = 3
    text = None

    def page_text_loaded() -> bool:
        nonlocal text
        view.go_to_page(page)
        text = view.page_text(page)
        return bool(text)

    qtbot.waitUntil(page_text_loaded, timeout=10_000)
    words = " ".join(text.split()[:4])
    start = text.index(text.split()[0])
    end = start + len(text[start:].split("\n")[0])
    view.select_range(page, start, end)
    qtbot.waitUntil(lambda: view.selection() is not None, timeout=5_000)

    window.highlight_action.trigger()

    [note] = list_annotations(window.conn, pack_id=PACK, doc_id="guide")
    assert note.page_index == page
    assert " ".join(note.quote.split()).startswith(words)
    assert note.rects and note.rects[0]["page"] == page
    window.notes_dock.show()
    assert any(words[:20] in row for row in listed(window))


def test_clicking_a_pdf_highlight_shows_its_note_in_the_panel(
    qtbot: QtBot, window: MainWindow
) -> None:
    annotate_quote(window.conn, active_document(window.conn, PACK, "guide"),
                   "Moderation and risk", body="check with legal")
    tab = open_guide(qtbot, window)
    [note] = list_annotations(window.conn, pack_id=PACK, doc_id="guide")
    tab.show_annotations([note])
    window.notes_panel.set_context(PACK, "guide")
    tab.view.annotation_clicked.emit(note.uuid)
    assert window.notes_dock.isVisible()
    assert window.notes_panel.current_uuid() == note.uuid


def answer_dialogs(fmt: str, scope: str = "document") -> QTimer:
    """Answer the export dialog, then the file dialog (its suggested name), as a reader would."""

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, ExportDialog):
            dialog.scope.setCurrentIndex(dialog.scope.findData(scope))
            dialog.format.setCurrentIndex(dialog.format.findData(fmt))
            dialog.accept()
        elif isinstance(dialog, QFileDialog):
            dialog.accept()

    timer = QTimer()
    timer.timeout.connect(answer)
    timer.start(50)
    return timer


def test_file_export_notes_writes_the_chosen_format(
    qtbot: QtBot, window: MainWindow
) -> None:
    annotate_quote(window.conn, active_document(window.conn, PACK, "brent-social-media"),
                   PHRASE, body="share with the team")
    window.open_document(PACK, "brent-social-media")
    timer = answer_dialogs("md")
    window.export_action.trigger()
    timer.stop()
    written = Path(window.statusBar().currentMessage().split(" to ", 1)[1].rstrip("."))
    assert written.name == "brent-social-media-notes.md"
    text = written.read_text()
    assert PHRASE in text and "share with the team" in text
    assert window.statusBar().currentMessage().startswith("Exported 1 note to ")


def test_tags_edited_in_the_panel_filter_the_list_and_undo_restores_them(
    qtbot: QtBot, window: MainWindow
) -> None:
    tab = open_case(qtbot, window)
    select_in_markdown(tab, PHRASE)
    window.highlight_action.trigger()
    [note] = list_annotations(window.conn)
    panel = window.notes_panel

    panel.change_note(note, "talk to comms", ("risk", "staffing"))
    panel.filter.setText("#staffing")
    assert len(listed(window)) == 1 and "#risk" in listed(window)[0]
    panel.filter.setText("#budget")
    assert listed(window) == []
    panel.undo_stack.undo()
    assert list_annotations(window.conn)[0].tags == ()


def test_exporting_only_the_selected_note(
    qtbot: QtBot, window: MainWindow
) -> None:
    record = active_document(window.conn, PACK, "brent-social-media")
    annotate_quote(window.conn, record, PHRASE, body="first")
    annotate_quote(window.conn, record, "Lessons for other councils", body="second")
    window.open_document(PACK, "brent-social-media")
    window.notes_dock.show()
    window.notes_panel.list.setCurrentRow(1)
    chosen = window.notes_panel.current_uuid()

    timer = answer_dialogs("jsonld", scope="selected")
    window.export_action.trigger()
    timer.stop()
    written = Path(window.statusBar().currentMessage().split(" to ", 1)[1].rstrip("."))
    items = json.loads(written.read_text())["first"]["items"]
    assert [item["id"] for item in items] == [f"urn:uuid:{chosen}"]
