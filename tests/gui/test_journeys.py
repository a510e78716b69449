"""The everyday journeys a new reader takes, as acceptance tests on the real window.

Each test is one journey as a reader would tell it, driven through the window's own
keys and panels on the shipped sample pack, whose guide is typeset with ligatures
("staﬀ", "oﬃcer") as real PDFs are.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import docx
import pymupdf
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog
from pytestqt.qtbot import QtBot

from desktop_app.cli import main as cli
from desktop_app.core.annotations.store import list_annotations
from desktop_app.core.annotations.text import document_text
from desktop_app.core.library import active_document
from desktop_app.core.normalise import fold, normal
from desktop_app.gui.window.main_window import MainWindow
from desktop_app.paths import AppPaths
from desktop_app.sample import sample_pack
from tests.gui.windows import PACK, open_guide, open_window

LIGATURE_PHRASE = "limited staff time"


def guide_text(conn: sqlite3.Connection) -> str:
    return document_text(conn, active_document(conn, PACK, "guide").id).text


def find_by_typing(qtbot: QtBot, window: MainWindow, words: str) -> None:
    qtbot.keySequence(window, "Ctrl+F")
    qtbot.keyClicks(window.find_bar.field, words)
    qtbot.waitUntil(lambda: "match" in window.find_bar.count.text(), timeout=15_000)


def answer_note_dialog(text: str) -> QTimer:
    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QInputDialog):
            dialog.setTextValue(text)
            dialog.accept()
            timer.stop()
    timer = QTimer(interval=50)
    timer.timeout.connect(answer)
    timer.start()
    return timer


def test_a_new_reader_finds_words_the_guide_prints_with_ligatures(
    qtbot: QtBot, window: MainWindow
) -> None:
    tab = open_guide(qtbot, window)
    expected = fold(guide_text(window.conn)).text.count("staff")
    assert expected >= 20  # the guide's text layer spells every one "staﬀ"

    find_by_typing(qtbot, window, "staff")

    assert window.find_bar.count.text() == f"{expected} matches"
    # While typing, without Enter, the view has gone to the first hit from here.
    assert tab.view.current_find_hit() is not None
    window.find_bar.field.clear()
    qtbot.waitUntil(lambda: window.find_bar.count.text() == "", timeout=5_000)
    find_by_typing(qtbot, window, LIGATURE_PHRASE)
    assert window.find_bar.count.text() == "1 match"


def test_library_search_from_the_panel_opens_the_hit_on_its_page(
    qtbot: QtBot, window: MainWindow
) -> None:
    qtbot.keySequence(window, "Ctrl+Shift+F")
    panel = window.search_panel
    qtbot.keyClicks(panel.field, "officer")
    qtbot.waitUntil(lambda: panel.result_count() > 0, timeout=10_000)
    row = next(i for i, hit in enumerate(panel.hits()) if hit.doc_id == "guide")
    hit = panel.hits()[row]
    panel.activate_row(row)
    tab = window.current_tab()
    assert tab is not None and tab.record.doc_id == "guide"
    qtbot.waitUntil(lambda: tab.view.current_page() == hit.unit, timeout=10_000)


def test_a_reader_highlights_and_notes_a_ligature_phrase_with_the_keyboard(
    qtbot: QtBot, window: MainWindow
) -> None:
    open_guide(qtbot, window)
    find_by_typing(qtbot, window, LIGATURE_PHRASE)
    qtbot.keyClick(window.find_bar.field, Qt.Key.Key_Return)
    timer = answer_note_dialog("Ask the team how they free up time")
    qtbot.keySequence(window, "Ctrl+Shift+N")
    timer.stop()

    [note] = list_annotations(window.conn, pack_id=PACK, doc_id="guide")
    assert note.quote == LIGATURE_PHRASE and note.body.startswith("Ask the team")
    window.notes_dock.show()
    assert any(LIGATURE_PHRASE in window.notes_panel.list.item(i).text()
               for i in range(window.notes_panel.list.count()))


@pytest.mark.parametrize("how", ["Ctrl+Q", "closing the window"])
def test_quitting_and_starting_again_brings_the_whole_session_back(
    qtbot: QtBot, paths: AppPaths, how: str
) -> None:
    window = open_window(qtbot, paths)
    guide = open_guide(qtbot, window)
    window.open_document(PACK, "kent-digital-technology")
    window.tabs.setCurrentIndex(0)
    guide.go_to_page(11)
    qtbot.waitUntil(lambda: guide.view.current_page() == 11, timeout=10_000)
    window.zoom_in_action.trigger()
    zoom = guide.view.zoom()
    window.set_theme("high-contrast")
    qtbot.keySequence(window, "Ctrl+Shift+M")
    assert window.notes_dock.isVisible()

    if how == "Ctrl+Q":
        qtbot.keySequence(window, "Ctrl+Q")
    else:
        window.close()
    assert not window.isVisible()

    again = open_window(qtbot, paths)
    assert [again.tab_at(i).record.doc_id for i in range(again.tabs.count())] == \
        ["guide", "kent-digital-technology"]
    tab = again.current_tab()
    assert tab.record.doc_id == "guide"
    qtbot.waitUntil(lambda: tab.view.current_page() == 11, timeout=10_000)
    assert tab.view.zoom() == pytest.approx(zoom, abs=1e-3)
    assert again._theme == "high-contrast"
    assert again.notes_dock.isVisible()
    again.close()


def test_a_session_is_kept_while_reading_not_only_at_quit(
    qtbot: QtBot, window: MainWindow, paths: AppPaths
) -> None:
    """A crash or a power cut after reading a while loses at most the last moments."""
    open_guide(qtbot, window)
    window.set_theme("dark")
    with qtbot.waitSignal(window.session.failed, raising=False, timeout=5_000) as failed:
        qtbot.waitUntil(lambda: _saved_theme(paths) == "dark", timeout=5_000)
    assert not failed.signal_triggered


def _saved_theme(paths: AppPaths) -> str | None:
    conn = sqlite3.connect(paths.store_file)
    row = conn.execute("SELECT value FROM settings WHERE key = 'gui.window'").fetchone()
    conn.close()
    return json.loads(row[0]).get("theme") if row else None


def test_a_failed_save_at_quit_is_said_and_the_reader_decides(
    qtbot: QtBot, window: MainWindow, paths: AppPaths
) -> None:
    open_guide(qtbot, window)
    blocker = sqlite3.connect(paths.store_file, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another program holds the library
    window.conn.execute("PRAGMA busy_timeout = 100")

    asked: list[str] = []

    def cancel() -> None:
        box = QApplication.activeModalWidget()
        if box is not None:
            asked.append(box.text())
            box.reject()
            timer.stop()
    timer = QTimer(interval=50)
    timer.timeout.connect(cancel)
    timer.start()
    window.close()
    timer.stop()
    blocker.rollback()
    blocker.close()

    assert asked and "could not be saved" in asked[0]
    assert window.isVisible()  # kept open: nothing lost
    assert "could not be saved" in window.statusBar().currentMessage()


def test_after_a_pack_update_with_notes_from_window_and_cli_library_search_still_works(
    qtbot: QtBot, window: MainWindow, paths: AppPaths, tmp_path: Path
) -> None:
    panel = window.search_panel
    qtbot.keySequence(window, "Ctrl+Shift+F")
    qtbot.keyClicks(panel.field, "moderation")
    qtbot.waitUntil(lambda: panel.result_count() > 0, timeout=10_000)  # connected

    open_guide(qtbot, window)
    find_by_typing(qtbot, window, LIGATURE_PHRASE)
    qtbot.keyClick(window.find_bar.field, Qt.Key.Key_Return)
    window.highlight_action.trigger()
    data = ["--data-dir", str(paths.data_dir)]
    assert cli([*data, "notes", "add", "--pack", PACK, "--doc", "guide", "--quote",
                "house rules", "--note", "from the terminal"]) == 0
    update = sample_pack(tmp_path / "build", edition="1.1.0")
    assert cli([*data, "pack", "install", str(update)]) == 0

    panel.field.clear()
    qtbot.keyClicks(panel.field, "staff")
    qtbot.waitUntil(lambda: panel.result_count() > 0 or "failed" in panel.status.text(),
                    timeout=10_000)
    assert "failed" not in panel.status.text()
    docs = {hit.doc_id for hit in panel.hits()}
    assert "guide" in docs
    panel.field.clear()
    qtbot.keyClicks(panel.field, "terminal")
    qtbot.waitUntil(lambda: panel.result_count() > 0, timeout=10_000)


def test_notes_exported_to_word_and_pdf_read_back_as_plain_words(
    qtbot: QtBot, window: MainWindow, paths: AppPaths, tmp_path: Path
) -> None:
    open_guide(qtbot, window)
    find_by_typing(qtbot, window, LIGATURE_PHRASE)
    qtbot.keyClick(window.find_bar.field, Qt.Key.Key_Return)
    timer = answer_note_dialog("officer time matters")
    window.note_action.trigger()
    timer.stop()
    data = ["--data-dir", str(paths.data_dir)]
    texts = {}
    for fmt in ("docx", "pdf", "md", "html", "jsonld"):
        target = tmp_path / f"notes.{fmt}"
        assert cli([*data, "notes", "export", "--pack", PACK, "--format", fmt,
                    "-o", str(target)]) == 0
        if fmt == "docx":
            texts[fmt] = "\n".join(p.text for p in docx.Document(target).paragraphs)
        elif fmt == "pdf":
            texts[fmt] = "".join(page.get_text() for page in pymupdf.open(target))
        else:
            texts[fmt] = target.read_text(encoding="utf-8")
    for fmt in ("docx", "md", "html", "jsonld"):
        assert LIGATURE_PHRASE in " ".join(texts[fmt].split()), fmt
        assert not any("\ufb00" <= c <= "\ufb06" for c in texts[fmt]), fmt
    # The annotated PDF is the guide itself, ligature glyphs and all: the highlight must
    # sit on the printed phrase, and the note read plainly.
    [page] = [page for page in pymupdf.open(tmp_path / "notes.pdf") if list(page.annots())]
    [annot] = list(page.annots())
    assert annot.info["content"] == "officer time matters"
    under = page.get_textbox(annot.rect)
    assert LIGATURE_PHRASE in " ".join(normal(under).split())
