"""Text selection and saved highlights in PdfView, on real PDFs and a real render worker."""

from __future__ import annotations

from collections.abc import Iterator

import pymupdf
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from desktop_app.core.documents import clean_text
from desktop_app.core.documents.pdf_chars import extract_chars
from desktop_app.gui.reader.pdf.marks import COLOURS, AnnotationMark, note_marker_rect
from desktop_app.gui.reader.pdf.pdf_view import PdfView
from desktop_app.gui.reader.pdf.render_service import RenderService
from desktop_app.render.page_text import PageText
from tests.packfactory import make_pdf

HTML = """<h1>Moderation and risk</h1>
<p>Agree house rules and publish them before you need them. Residents expect a
clear, fair process; staff need the confidence to act quickly.</p>
<p>The office’s first step: write down what “off-topic” means, and who decides.</p>
<ul><li>Start small and listen first.</li><li>Publish what you heard.</li></ul>
<p>Café owners, naïve users and éclairs are all welcome — within reason.</p>"""
LEFT = Qt.MouseButton.LeftButton
NO_BUTTON = Qt.MouseButton.NoButton


def _guide_pdf() -> bytes:
    """Two pages of real layout: a heading, paragraphs with ligatures and curly quotes,
    a list, two columns; a link on page 2."""
    doc = pymupdf.open()
    for n in range(2):
        page = doc.new_page(width=595, height=842)
        page.insert_htmlbox(pymupdf.Rect(56, 56, 539, 500), HTML)
        page.insert_text((56, 600), f"Left column words here {n + 1}", fontsize=11)
        page.insert_text((320, 600), "Right column other words", fontsize=11)
    doc[1].insert_link({"kind": pymupdf.LINK_URI, "from": pymupdf.Rect(56, 590, 200, 604),
                        "uri": "https://example.org/"})
    data = doc.tobytes()
    doc.close()
    return data


GUIDE = _guide_pdf()


@pytest.fixture
def service(qtbot) -> Iterator[RenderService]:
    svc = RenderService(timeout=10)
    yield svc
    svc.close()


@pytest.fixture
def pdf() -> Iterator[pymupdf.Document]:
    doc = pymupdf.open(stream=GUIDE, filetype="pdf")
    yield doc
    doc.close()


def _show(qtbot, service: RenderService, data: bytes = GUIDE) -> PdfView:
    view = PdfView(service, "doc", data)
    qtbot.addWidget(view)
    view.resize(700, 600)
    with qtbot.waitSignal(view.opened, timeout=10_000):
        view.show()
    qtbot.waitExposed(view)
    view.set_zoom(1.25)  # a point is more than a pixel: pointer positions are exact
    for page in range(view.page_count()):
        service.request_chars("doc", page)  # the view fetches pages on screen only
        qtbot.waitUntil(lambda p=page: service.page_text("doc", p) is not None, timeout=5_000)
    return view


def _at(view: PdfView, page: int, x_pt: float, y_pt: float) -> QPointF:
    x, y = view._layout.to_pixels(page, x_pt, y_pt)
    return QPointF(x - view.horizontalScrollBar().value(), y - view.verticalScrollBar().value())


def _mouse(view: PdfView, kind: QEvent.Type, pos: QPointF, buttons: Qt.MouseButton = LEFT,
           modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    button = NO_BUTTON if kind == QEvent.Type.MouseMove else LEFT
    global_pos = QPointF(view.viewport().mapToGlobal(pos.toPoint()))
    event = QMouseEvent(kind, pos, global_pos, button, buttons, modifiers)
    QApplication.sendEvent(view.viewport(), event)


def _click(view: PdfView, pos: QPointF, **kwargs) -> None:
    _mouse(view, QEvent.Type.MouseButtonPress, pos, **kwargs)
    _mouse(view, QEvent.Type.MouseButtonRelease, pos, buttons=NO_BUTTON, **kwargs)


def _drag(view: PdfView, start: QPointF, end: QPointF) -> None:
    _mouse(view, QEvent.Type.MouseButtonPress, start)
    for step in range(1, 6):
        _mouse(view, QEvent.Type.MouseMove, start + (end - start) * (step / 5))
    _mouse(view, QEvent.Type.MouseButtonRelease, end, buttons=NO_BUTTON)


def _words(page: pymupdf.Page, line_starting: str) -> list[tuple]:
    """The words (x0, y0, x1, y1, text, …) of the line that starts with a given word."""
    words = page.get_text("words")
    first = next(w for w in words if w[4] == line_starting)
    return [w for w in words if w[5:7] == first[5:7]]


def _text_in(page: pymupdf.Page, rects: tuple) -> str:
    """What PyMuPDF extracts inside the rectangles (clipped, not get_textbox: line boxes
    overlap a little and get_textbox takes any character a rectangle touches)."""
    return "\n".join(page.get_text("text", clip=pymupdf.Rect(r)).strip() for r in rects)


def test_chars_concatenate_to_the_pages_text(qtbot, service: RenderService, pdf) -> None:
    for page in pdf:
        text, boxes, exact = extract_chars(page)
        assert exact and text == page.get_text("text") and len(boxes) == len(text)
    # The same through the worker and its binary reply.
    view = _show(qtbot, service)  # kept: a view going away closes its document
    page_text = service.page_text(view.doc_key(), 1)
    assert isinstance(page_text, PageText)
    # The page text as the library stores it: the "ﬁ" glyph of "ﬁrst" reads "fi".
    assert page_text.text == clean_text(pdf[1].get_text("text")) and page_text.exact
    assert "ﬁrst" in pdf[1].get_text("text") and "first" in page_text.text
    # Every visible box lies on the page, in reading order line by line.
    assert all(0 <= b[0] <= b[2] <= 595 and 0 <= b[1] <= b[3] <= 842 for b in page_text.boxes)
    assert len(page_text.lines) == page_text.text.count("\n")


def test_drag_selects_exactly_the_words_dragged_over(qtbot, service, pdf) -> None:
    view = _show(qtbot, service)
    changes: list[None] = []
    view.selection_changed.connect(lambda: changes.append(None))
    line = _words(pdf[0], "Agree")
    first, last = line[1], line[4]  # "house" … "publish"
    y = (first[1] + first[3]) / 2
    _drag(view, _at(view, 0, first[0] + 0.5, y), _at(view, 0, last[2] - 0.5, y))
    selection = view.selection()
    assert selection is not None and selection.page == 0
    assert selection.text == "house rules and publish"
    assert pdf[0].get_text("text")[selection.start:selection.end] == selection.text
    assert len(selection.rects) == 1
    assert _text_in(pdf[0], selection.rects) == "house rules and publish"
    assert changes  # signalled

    # Across lines: from "publish" to the end of "quickly." on the paragraph's next line.
    end_word = next(w for w in pdf[0].get_text("words") if w[4] == "quickly.")
    _drag(view, _at(view, 0, last[0] + 0.5, y),
          _at(view, 0, end_word[2] + 5, (end_word[1] + end_word[3]) / 2))
    selection = view.selection()
    assert selection.text.startswith("publish them") and selection.text.endswith("quickly.")
    assert "\n" in selection.text and len(selection.rects) == 2


def test_click_double_click_triple_click_and_shift_click(qtbot, service, pdf) -> None:
    view = _show(qtbot, service)
    line = _words(pdf[0], "Agree")
    word = line[2]  # "rules"
    centre = _at(view, 0, (word[0] + word[2]) / 2, (word[1] + word[3]) / 2)
    _click(view, centre)
    _mouse(view, QEvent.Type.MouseButtonDblClick, centre)
    _mouse(view, QEvent.Type.MouseButtonRelease, centre, buttons=NO_BUTTON)
    assert view.selection().text == "rules"

    # Shift+click extends from the word's start to the caret under the pointer.
    target = line[5]  # "them"
    _click(view, _at(view, 0, target[2] - 0.5, (target[1] + target[3]) / 2),
           modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert view.selection().text == "rules and publish them"

    # A third click soon after a double-click selects the whole line.
    _click(view, centre)
    _mouse(view, QEvent.Type.MouseButtonDblClick, centre)
    _mouse(view, QEvent.Type.MouseButtonRelease, centre, buttons=NO_BUTTON)
    _click(view, centre)
    assert view.selection().text == " ".join(w[4] for w in line)

    # A plain click clears it; Shift+click then selects from where that click was.
    _click(view, _at(view, 0, line[0][0] + 0.5, (word[1] + word[3]) / 2))
    assert view.selection() is None
    _click(view, centre, modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert view.selection().text.startswith("Agree house r")


def test_copy_escape_and_select_range(qtbot, service, pdf) -> None:
    view = _show(qtbot, service)
    text = pdf[1].get_text("text")
    start = text.index("Residents")
    view.select_range(1, start, start + len("Residents expect"))
    selection = view.selection()
    assert (selection.page, selection.text) == (1, "Residents expect")
    assert _text_in(pdf[1], selection.rects) == "Residents expect"
    # The window's own Copy shortcut must not take Ctrl+C while text is selected.
    override = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_C,
                         Qt.KeyboardModifier.ControlModifier, "c")
    QApplication.sendEvent(view, override)
    assert override.isAccepted()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "Residents expect"
    with qtbot.waitSignal(view.selection_changed):
        qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert view.selection() is None


def test_find_hit_becomes_the_selection(qtbot, service, pdf) -> None:
    view = _show(qtbot, service)
    with qtbot.waitSignal(view.find_results, timeout=10_000):
        view.find("publish what")
    # Find goes to the first hit by itself (no Enter needed), as browsers' find does.
    page, rects = view.current_find_hit()
    assert page == 0 and len(rects) == 1
    with qtbot.waitSignal(view.selection_changed):
        assert view.select_find_hit()
    selection = view.selection()
    assert (selection.page, selection.text) == (0, "Publish what")


def test_cursor_and_links(qtbot, service, pdf) -> None:
    view = _show(qtbot, service)
    word = _words(pdf[0], "Agree")[0]
    _mouse(view, QEvent.Type.MouseMove, _at(view, 0, word[0] + 2, word[1] + 3),
           buttons=NO_BUTTON)
    assert view.viewport().cursor().shape() == Qt.CursorShape.IBeamCursor
    _mouse(view, QEvent.Type.MouseMove, _at(view, 0, 300, 750), buttons=NO_BUTTON)
    assert view.viewport().cursor().shape() == Qt.CursorShape.ArrowCursor

    view.go_to_page(1)
    urls: list[str] = []
    view.external_link_clicked.connect(urls.append)
    left = _words(pdf[1], "Left")
    y = (left[0][1] + left[0][3]) / 2
    # Dragging over the link selects its text and does not follow it…
    _drag(view, _at(view, 1, left[0][0] + 0.5, y), _at(view, 1, left[2][2] - 0.5, y))
    assert view.selection().text == "Left column words" and urls == []
    # …a click on it follows it.
    _click(view, _at(view, 1, left[1][0] + 1, y))
    assert urls == ["https://example.org/"]


def _pixels_like(image: QImage, rect, colour: QColor) -> float:
    """The share of pixels inside a viewport rectangle that are ``colour`` (±4)."""
    hits = total = 0
    for x in range(int(rect.left()) + 2, int(rect.right()) - 1, 2):
        for y in range(int(rect.top()) + 2, int(rect.bottom()) - 1, 2):
            pixel = image.pixelColor(x, y)
            total += 1
            hits += all(abs(a - b) <= 4 for a, b in zip(pixel.getRgb()[:3],
                                                        colour.getRgb()[:3], strict=True))
    return hits / max(1, total)


def test_saved_highlights_are_painted_found_and_clicked(qtbot, service, pdf) -> None:
    view = _show(qtbot, service, make_pdf(["Agree house rules.\n\nPublish them early."] * 2))
    qtbot.waitUntil(lambda: service.cached("doc", 0, view._render_scale()) is not None,
                    timeout=10_000)
    marks = [
        AnnotationMark("a", 0, ((56.0, 56.0, 150.0, 72.0),), "green"),
        AnnotationMark("b", 0, ((56.0, 90.0, 200.0, 106.0), (56.0, 110.0, 120.0, 126.0)),
                       "pink", state="fuzzy", has_note=True),
        AnnotationMark("c", 1, ((56.0, 56.0, 150.0, 72.0),), "blue"),
    ]
    view.set_annotations(marks)
    image = view.viewport().grab().toImage()
    green = view._page_rect_to_view(0, marks[0].rects[0])
    pink = view._page_rect_to_view(0, marks[1].rects[1])
    # Multiplied onto white paper, the highlight is its colour; text stays dark.
    assert _pixels_like(image, green, COLOURS["green"]) > 0.6
    assert _pixels_like(image, pink, COLOURS["pink"]) > 0.6

    assert view.annotation_at(green.center()) == "a"
    assert view.annotation_at(pink.center()) == "b"
    assert view.annotation_at(_at(view, 0, 400, 400)) is None
    marker = note_marker_rect(pink)
    assert view.annotation_at(marker.center()) == "b"  # the note marker, past the text
    assert image.pixelColor(marker.center().toPoint()).saturation() > 150
    with qtbot.waitSignal(view.annotation_clicked) as blocker:
        _click(view, green.center())
    assert blocker.args == ["a"]

    assert view.scroll_to_annotation("c") and view.current_page() == 1
    assert not view.scroll_to_annotation("missing")


def test_page_text_geometry_without_a_window(pdf) -> None:
    text, boxes, _ = extract_chars(pdf[0])
    page = PageText(text, tuple(boxes))
    office = text.index("oﬃce’s")
    assert text[slice(*page.word_range(office + 2))] == "oﬃce’s"  # apostrophe inside
    quote = text.index("“")
    assert page.word_range(quote) == (quote, quote + 1)  # punctuation on its own
    line = page.lines[1]
    x0, y0, x1, y1 = line.box
    assert page.position_at(x1 + 50, (y0 + y1) / 2) == line.end  # right of the line
    assert page.position_at(x0 - 30, (y0 + y1) / 2) == line.start  # in the left margin
    assert page.position_at(300, 830) == len(text.rstrip("\n"))  # below all text
    assert page.char_at(300, 830) is None
    assert text[slice(*page.line_range(line.start + 3))] == text[line.start:line.end]
