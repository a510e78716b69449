"""The case-study view: what it loads (pack images only), links, find, text size and position."""

from __future__ import annotations

import base64
import http.server
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from PySide6.QtCore import QPoint, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QImage, QTextCursor, QTextDocument, QTextFragment, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop_app.core.library import active_document, media_bytes
from desktop_app.core.packs.install import install_pack
from desktop_app.gui.reader.markdown.markdown_view import MarkdownView, link_kind, pack_media_path
from tests.packfactory import PackFactory, make_png

IMAGE = QTextDocument.ResourceType.ImageResource.value
PNG = make_png(40, 30)


def long_html(paragraphs: int = 60) -> str:
    """Headings with ids (as the store holds them) and enough text to scroll."""
    parts = ['<h1 id="top">A long case</h1>']
    for n in range(paragraphs):
        if n == 30:
            parts.append('<h2 id="lessons">Lessons</h2>')
        word = " needle" if n in (5, 33, 55) else ""
        parts.append(f"<p>Paragraph {n}: residents and staff met{word} to talk it over "
                     "at some length, and wrote down what they heard.</p>")
    parts.append('<h2>Unnamed end</h2><p>The end.</p>')
    return "".join(parts)


def heading(view: MarkdownView) -> QTextCursor:
    return view.document().find("Lessons", 0, QTextDocument.FindFlag.FindCaseSensitively)


def show(qtbot: QtBot, html: str, media: dict[str, bytes] | None = None,
         size: tuple[int, int] = (500, 400)) -> MarkdownView:
    view = MarkdownView(html, (media or {}).get)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view


def image_fragments(document: QTextDocument) -> list[QTextFragment]:
    found = []
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            if iterator.fragment().charFormat().isImageFormat():
                found.append(iterator.fragment())
            iterator += 1
        block = block.next()
    return found


def image_name(fragment: QTextFragment) -> str:
    return fragment.charFormat().toImageFormat().name()


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 that records every request it gets."""
    _CountingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _CountingHandler.requests
    server.shutdown()
    server.server_close()


# --- What the view loads ---------------------------------------------------------------


def test_remote_local_and_inline_images_are_never_loaded(
    qtbot: QtBot, tmp_path: Path, web_server: tuple[str, list[str]]
) -> None:
    base, requests = web_server
    secret = tmp_path / "secret.png"
    secret.write_bytes(make_png(33, 17))
    file_url = QUrl.fromLocalFile(str(secret)).toString()
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    hostile = [f"{base}/x.png", file_url, data_url, str(secret), "../media/ok.png",
               "//127.0.0.1/share/x.png"]
    html = "<p>Text</p>" + "".join(f'<img src="{src}">' for src in hostile) + (
        '<img src="media/ok.png">')
    asked: list[str] = []

    def load_media(path: str) -> bytes | None:
        asked.append(path)
        return PNG if path == "media/ok.png" else None

    view = MarkdownView(html, load_media)
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    view.grab()  # lay out and paint everything
    qtbot.wait(200)

    document = view.document()
    assert requests == []
    assert set(asked) == {"media/ok.png"}
    # Qt reads an image's name as a file itself when the document has no image for
    # it: no hostile name is left in the document, and none was read into it.
    names = {image_name(fragment) for fragment in image_fragments(document)}
    assert names == {"", "media/ok.png"}
    for src in hostile:
        assert document.resource(IMAGE, QUrl(src)).size() == QSize(1, 1), src
    shown = document.resource(IMAGE, QUrl("media/ok.png"))
    assert isinstance(shown, QImage) and not shown.isNull() and shown.width() == 40
    # The check is real: a plain QTextDocument does read that local file.
    plain = QTextDocument()
    plain.setHtml(f'<img src="{file_url}">')
    plain.documentLayout().documentSize()
    assert plain.resource(IMAGE, QUrl(file_url)).size() == QSize(33, 17)


def test_an_image_of_an_installed_pack_is_shown(
    qtbot: QtBot, store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.build())
    record = active_document(store, "org.example.sample", "case-one")
    assert record.html and 'src="media/diagram.png"' in record.html

    view = MarkdownView(record.html, lambda path: media_bytes(store, record, path))
    qtbot.addWidget(view)

    image = view.document().resource(IMAGE, QUrl("media/diagram.png"))
    assert isinstance(image, QImage) and not image.isNull()
    assert (image.width(), image.height()) == (40, 30)


@pytest.mark.parametrize(("src", "path"), [
    ("media/x.png", "media/x.png"),
    ("media/./x.png", "media/x.png"),
    ("../media/x.png", None),
    ("media/../../x.png", None),
    ("/etc/x.png", None),
    ("file:///etc/x.png", None),
    ("C:/x.png", None),
    ("media\\x.png", None),
    ("//server/share/x.png", None),
    ("http://example.org/x.png", None),
    ("data:image/png;base64,AAAA", None),
    ("media/x.png?v=1", None),
])
def test_only_relative_pack_paths_name_images(src: str, path: str | None) -> None:
    assert pack_media_path(QUrl(src)) == path


def test_images_wider_than_the_view_are_scaled_to_fit(qtbot: QtBot) -> None:
    view = show(qtbot, '<p>Wide:</p><p><img src="media/wide.png"></p>',
                {"media/wide.png": make_png(2000, 100)}, size=(400, 300))

    assert view.horizontalScrollBar().maximum() == 0
    size = view.document().documentLayout().documentSize()
    assert size.width() <= view.viewport().width() + 1
    view.resize(3000, 300)  # never scaled up past its own size
    qtbot.waitUntil(lambda: view.viewport().width() > 2500)
    assert view.horizontalScrollBar().maximum() == 0


# --- Links -----------------------------------------------------------------------------


@pytest.mark.parametrize(("href", "kind"), [
    ("#lessons", "anchor"),
    ("https://example.org/page", "external"),
    ("http://example.org/page", "external"),
    ("mailto:someone@example.org", "external"),
    ("brent-social-media.md", "document"),
    ("../documents/x.md#part", "document"),
    ("file:///etc/passwd", "ignore"),
    ("javascript:alert(1)", "ignore"),
    ("data:text/html,hi", "ignore"),
    ("//server/share/x.md", "ignore"),
    ("C:/Windows/x.md", "ignore"),
    ("/etc/passwd", "ignore"),
    ("ftp://example.org/x", "ignore"),
])
def test_links_are_classified(href: str, kind: str) -> None:
    assert link_kind(QUrl(href)) == kind


def test_clicked_links_are_reported_never_followed(qtbot: QtBot) -> None:
    view = show(qtbot, long_html())
    documents: list[str] = []
    external: list[QUrl] = []
    view.document_link_clicked.connect(documents.append)
    view.external_link_clicked.connect(external.append)
    before = view.toHtml()

    for href in ("https://example.org/a", "mailto:a@example.org", "brent-social-media.md",
                 "../documents/x.md", "file:///etc/passwd", "javascript:alert(1)",
                 "//server/share/x.md"):
        view.anchorClicked.emit(QUrl(href))

    assert [url.toString() for url in external] == ["https://example.org/a",
                                                    "mailto:a@example.org"]
    assert documents == ["brent-social-media.md", "../documents/x.md"]
    assert view.toHtml() == before and view.source().isEmpty()
    assert not view.openLinks() and not view.openExternalLinks()


def test_a_click_on_an_in_page_link_scrolls_to_its_heading(qtbot: QtBot) -> None:
    view = show(qtbot, '<p><a href="#lessons">Go to the lessons</a></p>' + long_html())
    assert view.verticalScrollBar().value() == 0
    cursor = view.document().find("Go to the lessons")
    cursor.setPosition(cursor.selectionStart() + 3)
    where = view.cursorRect(cursor).center()

    with qtbot.waitSignal(view.anchorClicked, timeout=2000):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)

    qtbot.waitUntil(lambda: view.verticalScrollBar().value() > 0)
    assert 0 <= view.cursorRect(heading(view)).top() < 40


# --- Find and highlighted words --------------------------------------------------------


def test_find_highlights_every_hit_and_steps_through_them(qtbot: QtBot) -> None:
    view = show(qtbot, long_html())

    assert view.find("NEEDLE") == 3
    assert len(view.extraSelections()) == 3
    assert view.textCursor().selectedText() == "needle"
    first = view.textCursor().selectionStart()

    assert view.find_next()
    second = view.textCursor().selectionStart()
    assert second > first
    assert view.viewport().rect().contains(view.cursorRect(view.textCursor()))
    assert view.verticalScrollBar().value() > 0
    current = next(s for s in view.extraSelections() if s.cursor.selectionStart() == second)
    others = [s for s in view.extraSelections() if s.cursor.selectionStart() != second]
    assert all(s.format.background() != current.format.background() for s in others)

    view.find_next()
    assert view.find_next()  # wraps round to the first
    assert view.textCursor().selectionStart() == first
    assert view.find_previous()
    assert view.textCursor().selectionStart() > second

    view.clear_find()
    assert view.extraSelections() == [] and not view.find_next()
    assert view.find("nothing like this") == 0 and view.extraSelections() == []


def test_words_of_a_search_hit_are_marked_in_their_longer_forms_without_scrolling(
    qtbot: QtBot,
) -> None:
    view = show(qtbot, long_html())
    view.go_to_anchor("lessons")
    qtbot.waitUntil(lambda: view.verticalScrollBar().value() > 0)
    position = view.verticalScrollBar().value()

    count = view.highlight_words(["resident", "NEEDLE"])

    assert count == 60 + 3
    marked = {s.cursor.selectedText() for s in view.extraSelections()}
    assert marked == {"residents", "needle"}
    assert view.verticalScrollBar().value() == position
    assert view.highlight_words([]) == 0 and view.extraSelections() == []


# --- Where the reader is ---------------------------------------------------------------


def test_go_to_anchor_and_section_scroll_the_heading_to_the_top(qtbot: QtBot) -> None:
    view = show(qtbot, long_html())

    assert view.go_to_anchor("lessons")
    qtbot.waitUntil(lambda: 0 <= view.cursorRect(heading(view)).top() < 40)
    assert view.textCursor().position() == heading(view).selectionStart()

    view.verticalScrollBar().setValue(0)
    assert view.go_to_section("unnamed  END")
    qtbot.waitUntil(lambda: view.verticalScrollBar().value() > 0)
    assert not view.go_to_anchor("no-such-heading")
    assert not view.go_to_section("No such heading")


def test_go_to_anchor_before_the_view_is_shown_applies_when_shown(qtbot: QtBot) -> None:
    view = MarkdownView(long_html(), {}.get)
    qtbot.addWidget(view)
    view.resize(500, 400)
    assert view.go_to_anchor("lessons")
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: 0 <= view.cursorRect(heading(view)).top() < 40)


def test_view_state_round_trips_into_a_new_view(qtbot: QtBot) -> None:
    view = show(qtbot, long_html())
    view.set_text_scale(125)
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    state = view.view_state()
    assert state["text_scale"] == 125 and state["scroll_position"] == bar.value()
    assert state["scroll_fraction"] == pytest.approx(0.5, abs=0.02)

    again = MarkdownView(long_html(), {}.get)
    qtbot.addWidget(again)
    again.resize(500, 400)
    again.restore_state(state)  # before it is shown, as a window restoring tabs does
    again.show()
    qtbot.waitExposed(again)

    assert again.view_state()["text_scale"] == 125
    qtbot.waitUntil(lambda: again.view_state()["scroll_fraction"] == pytest.approx(
        state["scroll_fraction"], abs=0.02))
    again.restore_state({"text_scale": "huge", "scroll_fraction": None, "other": 1})
    assert again.view_state()["text_scale"] == 125


# --- Text size -------------------------------------------------------------------------


def test_text_size_follows_the_scale_and_its_shortcuts(qtbot: QtBot) -> None:
    view = show(qtbot, long_html())
    base = view.document().defaultFont().pointSizeF()

    view.set_text_scale(150)
    assert view.document().defaultFont().pointSizeF() == pytest.approx(base * 1.5)
    view.zoom_in()
    assert view.text_scale() == 175
    view.zoom_out()
    view.zoom_out()
    assert view.text_scale() == 125

    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert view.text_scale() == 100
    qtbot.keyClick(view, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert view.text_scale() == 110
    qtbot.keyClick(view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert view.text_scale() == 100

    wheel = QWheelEvent(QPointF(50, 50), QPointF(view.mapToGlobal(QPoint(50, 50))), QPoint(),
                        QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.text_scale() == 110
    assert view.document().defaultFont().pointSizeF() == pytest.approx(base * 1.1)

    view.set_text_scale(1000)
    assert view.text_scale() == 300
    view.set_text_scale(1)
    assert view.text_scale() == 50


def test_the_text_is_named_focusable_and_selectable_from_the_keyboard(qtbot: QtBot) -> None:
    view = show(qtbot, long_html())

    assert view.accessibleName() == "Case study text" and view.accessibleDescription()
    assert view.focusPolicy() == Qt.FocusPolicy.StrongFocus
    flags = view.textInteractionFlags()
    for flag in (Qt.TextInteractionFlag.TextSelectableByKeyboard,
                 Qt.TextInteractionFlag.TextSelectableByMouse,
                 Qt.TextInteractionFlag.LinksAccessibleByKeyboard):
        assert flags & flag
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert view.textCursor().selectedText() == "A"
