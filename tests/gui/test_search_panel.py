"""The library search panel on a real store: typing, results, keyboard, and hostile pack text."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from desktop_app.core.library import open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.core.packs.signing import SecretKey
from desktop_app.core.packs.trust import trust_key
from desktop_app.core.search import SearchHit
from desktop_app.gui.search import search_panel as search_panel_module
from desktop_app.gui.search.search_panel import HTML_ROLE, SearchPanel, place_text
from tests.packfactory import PackFactory

PAGES = [
    "Social media policy. Our council plans its channels carefully.",  # page 1
    "Moderation and risk: agree house rules early.",  # page 2
    "Beware of <b>bold</b> claims and <img src=x> tags in posts.",  # page 3
]
WAIT_MS = 5000


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory, publisher_key: SecretKey) -> Path:
    """A store with two packs, built once: the panel only reads it."""
    folder = tmp_path_factory.mktemp("search-panel")
    path = folder / "data" / "casebook.sqlite3"
    conn = open_library(path)
    try:
        trust_key(conn, publisher_key.public)
        factory = PackFactory(folder / "packs", publisher_key)
        spec = factory.spec(guide_pages=PAGES)
        spec.documents[0]["title"] = "The <i>guide</i>"
        install_pack(conn, factory.write(spec))
        other = factory.spec(pack_id="org.example.other",
                             guide_pages=["Residents of the other pack."])
        other.files["documents/case-one.md"] = b"# Another case\n\nResidents met online.\n"
        install_pack(conn, factory.write(other))
    finally:
        conn.close()
    return path


@pytest.fixture
def panel(qtbot: QtBot, store_path: Path) -> Iterator[SearchPanel]:
    widget = SearchPanel(store_path)
    qtbot.addWidget(widget)
    widget.resize(420, 500)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def type_and_wait(qtbot: QtBot, panel: SearchPanel, text: str) -> list[SearchHit]:
    panel.field.clear()
    qtbot.keyClicks(panel.field, text)
    qtbot.waitUntil(lambda: panel.status.text() not in ("Type to search", ""), timeout=WAIT_MS)
    return panel.hits()


def rows(panel: SearchPanel) -> list[tuple[str, str, str]]:
    return [(hit.pack_id, hit.doc_title, place_text(hit)) for hit in panel.hits()]


def test_results_appear_as_the_user_types_with_title_and_place(
    qtbot: QtBot, panel: SearchPanel
) -> None:
    assert panel.status.text() == "Type to search"

    qtbot.keyClicks(panel.field, "listen")
    qtbot.waitUntil(lambda: panel.status.text() == "1 result", timeout=WAIT_MS)
    assert rows(panel) == [("org.example.sample", "Case one", "§ Lessons")]

    panel.field.clear()
    assert panel.status.text() == "Type to search" and panel.hits() == []
    qtbot.keyClicks(panel.field, "carefully")
    qtbot.waitUntil(lambda: panel.status.text() == "1 result", timeout=WAIT_MS)
    assert rows(panel) == [("org.example.sample", "The <i>guide</i>", "page 1")]
    assert panel.model.rowCount() == 1


def test_the_search_runs_off_the_gui_thread_and_stale_answers_are_dropped(
    qtbot: QtBot, panel: SearchPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_search = search_panel_module.search
    threads: list[int] = []
    started, release = threading.Event(), threading.Event()

    def slow_search(conn: sqlite3.Connection, text: str, **kwargs: Any) -> list[SearchHit]:
        threads.append(threading.get_ident())
        if text == "carefully":
            started.set()
            release.wait(WAIT_MS / 1000)
        return real_search(conn, text, **kwargs)

    monkeypatch.setattr(search_panel_module, "search", slow_search)
    shown: list[list[str]] = []
    panel.model.modelReset.connect(lambda: shown.append([h.doc_id for h in panel.hits()]))

    qtbot.keyClicks(panel.field, "carefully")
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    # The query is stuck in the worker; the field still takes typing at once.
    began = time.monotonic()
    panel.field.clear()
    qtbot.keyClicks(panel.field, "listen")
    qtbot.wait(50)
    assert time.monotonic() - began < 1.0
    assert panel.field.text() == "listen"
    release.set()

    qtbot.waitUntil(lambda: panel.status.text() == "1 result", timeout=WAIT_MS)
    assert rows(panel) == [("org.example.sample", "Case one", "§ Lessons")]
    assert all("guide" not in ids for ids in shown)  # the answer to "carefully" never showed
    assert threads and threading.main_thread().ident not in threads


def test_pack_text_is_shown_as_literal_text_never_as_markup(
    qtbot: QtBot, panel: SearchPanel
) -> None:
    [hit] = type_and_wait(qtbot, panel, "beware")
    assert (hit.doc_title, hit.page) == ("The <i>guide</i>", 3)
    html = panel.model.index(0, 0).data(HTML_ROLE)

    rendered = QTextDocument()
    rendered.setHtml(html)
    text = rendered.toPlainText()
    assert "The <i>guide</i>" in text
    assert "<b>bold</b>" in text and "<img src=x>" in text
    assert "<img" not in html and "<i>" not in html
    # Only the matched word is bold, as markup of ours.
    assert "<b>Beware</b>" in html
    assert panel.model.index(0, 0).data(Qt.ItemDataRole.DisplayRole).startswith(
        "The <i>guide</i>, page 3: ")


def test_down_then_enter_opens_the_result_with_its_pack_document_and_page(
    qtbot: QtBot, panel: SearchPanel
) -> None:
    type_and_wait(qtbot, panel, "moderation")
    panel.field.setFocus()

    qtbot.keyClick(panel.field, Qt.Key.Key_Down)
    assert panel.results.hasFocus()
    with qtbot.waitSignal(panel.hit_activated, timeout=WAIT_MS) as signal:
        qtbot.keyClick(panel.results, Qt.Key.Key_Return)

    [hit] = signal.args
    assert (hit.pack_id, hit.doc_id, hit.page) == ("org.example.sample", "guide", 2)
    # Up from the first row goes back to the field.
    qtbot.keyClick(panel.results, Qt.Key.Key_Up)
    assert panel.field.hasFocus()


def test_enter_in_the_field_and_a_double_click_open_a_result(
    qtbot: QtBot, panel: SearchPanel
) -> None:
    type_and_wait(qtbot, panel, "listen")
    with qtbot.waitSignal(panel.hit_activated, timeout=WAIT_MS) as signal:
        qtbot.keyClick(panel.field, Qt.Key.Key_Return)
    assert (signal.args[0].doc_id, signal.args[0].section) == ("case-one", "Lessons")

    centre = panel.results.visualRect(panel.model.index(0, 0)).center()
    viewport = panel.results.viewport()
    with qtbot.waitSignal(panel.hit_activated, timeout=WAIT_MS) as signal:
        # QTest's double click sends no press first; item views need one to arm it.
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=centre)
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=centre)
        qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=centre)
    assert signal.args[0].doc_id == "case-one"

    assert panel.result_count() == 1
    with qtbot.waitSignal(panel.hit_activated, timeout=WAIT_MS) as signal:
        panel.activate_row(0)
    assert signal.args[0].doc_id == "case-one"
    panel.activate_row(5)  # no such row: nothing happens


def test_escape_clears_the_field_and_the_results(qtbot: QtBot, panel: SearchPanel) -> None:
    type_and_wait(qtbot, panel, "moderation")
    assert panel.hits()

    qtbot.keyClick(panel.field, Qt.Key.Key_Escape)

    assert panel.field.text() == "" and panel.hits() == []
    assert panel.status.text() == "Type to search"
    # ... and from the results list, back to an empty field.
    type_and_wait(qtbot, panel, "moderation")
    qtbot.keyClick(panel.field, Qt.Key.Key_Down)
    qtbot.keyClick(panel.results, Qt.Key.Key_Escape)
    assert panel.field.text() == "" and panel.field.hasFocus()


@pytest.mark.parametrize("typed", ['"', "*", "NEAR(", "😀", '"(NEAR -'])
def test_odd_input_finds_nothing_and_raises_nothing(
    qtbot: QtBot, panel: SearchPanel, typed: str
) -> None:
    panel.field.setText(typed)  # keyClicks cannot type characters outside the BMP
    qtbot.waitUntil(lambda: panel.status.text() == "No results", timeout=WAIT_MS)
    assert panel.hits() == []


def test_the_pack_filter_limits_results_to_one_pack(qtbot: QtBot, panel: SearchPanel) -> None:
    everywhere = type_and_wait(qtbot, panel, "residents")
    assert {hit.pack_id for hit in everywhere} == {"org.example.sample", "org.example.other"}

    panel.set_pack_filter("org.example.other")
    qtbot.waitUntil(lambda: {h.pack_id for h in panel.hits()} == {"org.example.other"},
                    timeout=WAIT_MS)
    assert panel.status.text() == "2 results"

    panel.set_pack_filter(None)
    qtbot.waitUntil(lambda: len(panel.hits()) == len(everywhere), timeout=WAIT_MS)


def test_focus_search_selects_the_text_to_type_over(qtbot: QtBot, panel: SearchPanel) -> None:
    panel.field.setText("old words")
    panel.results.setFocus()

    panel.focus_search()

    assert panel.field.hasFocus() and panel.field.selectedText() == "old words"


def test_every_control_is_named_for_assistive_technology(panel: SearchPanel) -> None:
    assert panel.field.accessibleName() == "Search the library"
    assert panel.field.placeholderText() == (
        'Search all packs — words, "phrase", prefix*, OR, -word')
    for widget in (panel.field, panel.results, panel.status):
        assert widget.accessibleName() and widget.accessibleDescription()
