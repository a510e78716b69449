"""The main window, driven as a reader would: real store, real sample pack, real widgets."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from desktop_app.core.annotations.store import annotate_quote
from desktop_app.core.library import active_document
from desktop_app.core.settings import get_setting
from desktop_app.gui.window.main_window import STATE_KEY, MainWindow
from desktop_app.paths import AppPaths
from desktop_app.sample import sample_pack
from tests.gui.checks import unnamed_controls
from tests.gui.windows import PACK, open_guide, open_window
from tests.packfactory import PackFactory, make_pdf


def test_library_lists_the_sample_pack_with_its_documents(window: MainWindow) -> None:
    top = window.library.topLevelItem(0)
    assert top.text(0).startswith("Local by Social  1.0.0")
    children = [top.child(i).text(0) for i in range(top.childCount())]
    assert children[0] == "Local by Social: a guide for council staff"
    assert len(children) == 4
    assert window.windowTitle() == "Casebook"


def test_activating_the_guide_opens_it_in_a_tab_and_names_it_in_the_title(
    qtbot: QtBot, window: MainWindow
) -> None:
    guide = window.library.topLevelItem(0).child(0)
    window.library.setCurrentItem(guide)
    window.library.setFocus()
    qtbot.keyClick(window.library, Qt.Key.Key_Return)

    assert window.tabs.count() == 1
    tab = window.current_tab()
    qtbot.waitUntil(lambda: tab.view.page_count() >= 20, timeout=10_000)
    assert window.windowTitle() == "Local by Social: a guide for council staff — Casebook"
    assert window.position_label.text().startswith("Page 1 of")


def test_paging_and_zooming_the_guide_with_the_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    tab = open_guide(qtbot, window)
    tab.view.setFocus()
    qtbot.keyClick(tab.view, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: tab.view.current_page() == tab.view.page_count() - 1)
    qtbot.keyClick(tab.view, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: tab.view.current_page() == 0)
    qtbot.keyClick(tab.view, Qt.Key.Key_PageDown)
    qtbot.keyClick(tab.view, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: tab.view.current_page() >= 1)

    before = tab.view.zoom()
    window.zoom_in_action.trigger()
    qtbot.waitUntil(lambda: tab.view.zoom() > before)
    assert f"{round(tab.view.zoom() * 100)}%" in window.position_label.text()


def test_find_in_the_guide_counts_matches(qtbot: QtBot, window: MainWindow) -> None:
    open_guide(qtbot, window)
    qtbot.keySequence(window, QKeySequence.StandardKey.Find)
    assert window.find_bar.isVisible()
    qtbot.keyClicks(window.find_bar.field, "moderation")
    qtbot.waitUntil(lambda: "matches" in window.find_bar.count.text(), timeout=10_000)
    assert int(window.find_bar.count.text().split()[0]) >= 5


def test_library_search_opens_the_document_of_the_chosen_hit(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.search_action.trigger()
    assert window.search_dock.isVisible()
    panel = window.search_panel
    qtbot.keyClicks(panel.field, "Brent council")
    qtbot.waitUntil(lambda: panel.result_count() > 0, timeout=10_000)
    with qtbot.waitSignal(panel.hit_activated, timeout=10_000) as blocker:
        panel.activate_row(0)
    hit = blocker.args[0]
    tab = window.current_tab()
    assert tab is not None
    assert (tab.record.pack_id, tab.record.doc_id) == (hit.pack_id, hit.doc_id)


def test_themes_change_the_whole_palette(qtbot: QtBot, window: MainWindow) -> None:
    app = QApplication.instance()
    window.set_theme("dark")
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
    window.set_theme("high-contrast")
    assert app.palette().color(QPalette.ColorRole.Window).name() == "#000000"
    assert app.palette().color(QPalette.ColorRole.Highlight).name() == "#ffff00"
    window.set_theme("light")
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 200


def test_tabs_position_zoom_and_theme_come_back_after_a_restart(
    qtbot: QtBot, paths: AppPaths
) -> None:
    first = open_window(qtbot, paths)
    tab = open_guide(qtbot, first)
    first.open_document(PACK, "devon-digital-engagement")
    first.tabs.setCurrentIndex(0)
    tab.view.set_zoom(1.5)
    tab.go_to_page(9)
    qtbot.waitUntil(lambda: tab.view.current_page() == 9)
    first.set_theme("dark")
    first.close()

    second = open_window(qtbot, paths)
    try:
        titles = [second.tabs.tabToolTip(i) for i in range(second.tabs.count())]
        assert titles == ["Local by Social: a guide for council staff",
                          "Devon County Council: digital engagement (illustrative case study)"]
        restored = second.current_tab()
        qtbot.waitUntil(lambda: restored.view.page_count() > 0, timeout=10_000)
        qtbot.waitUntil(lambda: restored.view.current_page() == 9, timeout=10_000)
        assert restored.view.zoom() == pytest.approx(1.5)
        assert QApplication.instance().property("casebook_theme") == "dark"
    finally:
        second.set_theme("light")
        second.close()


def test_importing_a_good_pack_adds_it_to_the_library(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    update = sample_pack(tmp_path / "build", edition="1.1.0")
    job = window.import_pack(update)
    with qtbot.waitSignal(job.finished, timeout=60_000) as blocker:
        pass
    assert blocker.args[0] is True, blocker.args[1]
    qtbot.waitUntil(lambda: "1.1.0" in window.library.topLevelItem(0).text(0))


def test_a_refused_pack_shows_the_reason_and_changes_nothing(
    qtbot: QtBot, window: MainWindow, packs: PackFactory
) -> None:
    spec = packs.spec()
    spec.files["documents/guide.pdf"] = b"<html><body>not a pdf</body></html>"
    hostile = packs.write(spec, sign=False)
    job = window.import_pack(hostile, allow_unsigned=True)
    with qtbot.waitSignal(job.finished, timeout=60_000) as blocker:
        pass
    assert blocker.args[0] is False
    qtbot.waitUntil(lambda: window.findChild(QMessageBox) is not None)
    box = window.findChild(QMessageBox)
    assert "not a PDF" in box.text()
    box.close()
    assert window.library.topLevelItemCount() == 1


def test_an_unsigned_pack_asks_before_installing_anyway(
    qtbot: QtBot, window: MainWindow, packs: PackFactory
) -> None:
    unsigned = packs.write(packs.spec(), sign=False)
    job = window.import_pack(unsigned)
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: window.findChild(QMessageBox) is not None)
    box = window.findChild(QMessageBox)
    assert "not signed" in box.text()
    anyway = next(b for b in box.buttons() if b.text() == "Install anyway")
    anyway.click()
    qtbot.waitUntil(lambda: window.library.topLevelItemCount() == 2, timeout=60_000)
    titles = [window.library.topLevelItem(i).text(0) for i in range(2)]
    assert any("unverified" in title for title in titles)


def test_reading_mode_hides_the_chrome_and_escape_brings_it_back(
    qtbot: QtBot, window: MainWindow
) -> None:
    open_guide(qtbot, window)
    window.reading_action.trigger()
    assert not window.menuBar().isVisible() and not window.library_dock.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert window.menuBar().isVisible() and window.library_dock.isVisible()


def test_every_interactive_control_has_an_accessible_name(
    qtbot: QtBot, window: MainWindow
) -> None:
    open_guide(qtbot, window)
    window.open_document(PACK, "kent-digital-technology")
    window.find_action.trigger()
    window.search_action.trigger()
    assert unnamed_controls(window) == []


def test_contents_panel_lists_the_guide_outline_and_jumps_to_a_chapter(
    qtbot: QtBot, window: MainWindow
) -> None:
    tab = open_guide(qtbot, window)
    qtbot.waitUntil(lambda: window.outline.topLevelItemCount() >= 8, timeout=10_000)
    chapters = [window.outline.topLevelItem(i).text(0)
                for i in range(window.outline.topLevelItemCount())]
    assert "Moderation and risk" in " ".join(chapters)
    target = next(i for i, title in enumerate(chapters) if "Accessibility" in title)
    item = window.outline.topLevelItem(target)
    window.outline.setCurrentItem(item)
    window.outline.setFocus()
    qtbot.keyClick(window.outline, Qt.Key.Key_Return)
    expected = item.data(0, Qt.ItemDataRole.UserRole)[1]
    qtbot.waitUntil(lambda: tab.view.current_page() == expected)


def test_contents_panel_lists_case_study_sections(qtbot: QtBot, window: MainWindow) -> None:
    window.open_document(PACK, "brent-social-media")
    titles = [window.outline.topLevelItem(i).text(0)
              for i in range(window.outline.topLevelItemCount())]
    assert "What was harder" in titles


def test_opening_a_loose_pdf_adds_it_to_my_documents_and_shows_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    pdf = tmp_path / "Committee report.pdf"
    pdf.write_bytes(make_pdf(["Winter gritting routes", "Appendix"]))
    job = window.open_path(pdf)
    with qtbot.waitSignal(job.finished, timeout=60_000) as blocker:
        pass
    assert blocker.args[0] is True, blocker.args[1]
    tab = window.current_tab()
    assert tab is not None and tab.title == "Committee report"
    qtbot.waitUntil(lambda: tab.view.page_count() == 2, timeout=10_000)
    titles = [window.library.topLevelItem(i).text(0)
              for i in range(window.library.topLevelItemCount())]
    assert any(title.startswith("My documents") for title in titles)


def test_a_loose_pdf_is_readable_at_once_and_becomes_the_library_document(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    pdf = tmp_path / "Gritting plan.pdf"
    pdf.write_bytes(make_pdf([f"Route {n} is gritted first." for n in range(40)]))
    job = window.open_path(pdf)
    # Before the library has it: the file's own pages are on screen, in one tab.
    tab = window.current_tab()
    assert tab is not None and tab.pending and tab.title == "Gritting plan"
    qtbot.waitUntil(lambda: tab.view.page_count() == 40, timeout=10_000)
    assert window.highlight() is None and "still being added" in \
        window.statusBar().currentMessage()
    with qtbot.waitSignal(job.finished, timeout=60_000) as blocker:
        pass
    assert blocker.args == [True, "Added to My documents: Gritting plan."]
    # The same tab, now the library's document: nothing opened twice.
    assert window.tabs.count() == 1 and window.current_tab() is tab and not tab.pending
    assert tab.record.pack_id == "local.my-documents" and tab.record.page_count == 40
    window.save_state()
    assert get_setting(window.conn, STATE_KEY)["tabs"][0]["doc"] == tab.record.doc_id

    # Opening it again while it is open: the open tab is shown, no second one.
    again = window.open_path(pdf)
    with qtbot.waitSignal(again.finished, timeout=60_000):
        pass
    assert window.tabs.count() == 1 and window.current_tab() is tab


def test_a_refused_loose_pdf_closes_its_preview_and_says_why(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    pdf = tmp_path / "not really.pdf"
    pdf.write_bytes(b"<html>not a pdf</html>")
    job = window.open_path(pdf)
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: window.findChild(QMessageBox) is not None)
    box = window.findChild(QMessageBox)
    assert "not a PDF" in box.text()
    box.close()
    assert window.tabs.count() == 0


def test_after_an_update_the_reader_is_told_what_happened_to_their_notes(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    annotate_quote(window.conn, active_document(window.conn, PACK, "devon-digital-engagement"),
                   "One further difficulty deserves its own mention")
    annotate_quote(window.conn, active_document(window.conn, PACK, "guide"),
                   "Three questions before any channel")
    job = window.import_pack(sample_pack(tmp_path / "build", edition="1.1.0"))
    with qtbot.waitSignal(job.finished, timeout=60_000) as blocker:
        pass
    assert blocker.args[0] is True
    # Chapter 2 grew in 1.1.0, so the guide note moved (to its same words) further on.
    assert "Your notes: 0 kept in place, 1 moved, 1 need a look" in blocker.args[1]
    # The library marks the pack, in words a screen reader reads too.
    pack_row = window.library.topLevelItem(0)
    assert "⚠ 1 note needs a look" in pack_row.text(0)
    assert "1 note needs a look after an update" in pack_row.data(
        0, Qt.ItemDataRole.AccessibleTextRole)
    window.notes_dock.show()
    window.notes_panel.scope.setCurrentIndex(2)  # notes that need a look
    [row] = [window.notes_panel.list.item(i).text()
             for i in range(window.notes_panel.list.count())]
    assert "One further difficulty" in row and "made on 1.0.0" in row
    assert row.startswith("…")  # shown with the words around it


def test_a_read_only_library_opens_for_reading_with_changes_switched_off(
    qtbot: QtBot, paths: AppPaths
) -> None:
    subprocess.run(["mount", "--bind", str(paths.data_dir), str(paths.data_dir)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(paths.data_dir)], check=True)
        win = open_window(qtbot, paths)
        try:
            assert win.library.topLevelItemCount() == 1
            assert not win.highlight_action.isEnabled() and not win.import_action.isEnabled()
            labels = [w.text() for w in win.statusBar().findChildren(QLabel)]
            assert any(text.startswith("Read-only library") for text in labels)
        finally:
            win.close()
            win.conn.close()  # an open file would keep the mount busy
    finally:
        subprocess.run(["umount", str(paths.data_dir)], check=True)


def test_the_window_shows_from_disk_only_what_my_documents_accepts() -> None:
    from desktop_app.core import my_documents
    from desktop_app.gui.window import main_window

    # Two copies of one limit (the window must not import my_documents at start-up).
    assert main_window.MAX_PREVIEW_BYTES == my_documents.MAX_FILE_BYTES
