"""PdfView on real PDFs, rendered by a real worker, driven with keys, wheel and mouse."""

from __future__ import annotations

from collections.abc import Iterator

import pymupdf
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from desktop_app.gui.reader.pdf.layout import GAP, POINTS_TO_PIXELS
from desktop_app.gui.reader.pdf.pdf_view import PdfView
from desktop_app.gui.reader.pdf.render_service import RenderService
from tests.packfactory import make_pdf

THIRTY = [f"Page {n + 1}. " + "Residents shaped the plan for the parks. " * 20
          for n in range(30)]


@pytest.fixture
def service(qtbot) -> Iterator[RenderService]:
    svc = RenderService(timeout=10)
    yield svc
    svc.close()


def _show(qtbot, service: RenderService, data: bytes, key: str = "doc",
          size: tuple[int, int] = (600, 500)) -> PdfView:
    view = PdfView(service, key, data, title="Test guide")
    qtbot.addWidget(view)
    view.resize(*size)
    with qtbot.waitSignal(view.opened, timeout=10_000):
        view.show()
    qtbot.waitExposed(view)
    return view


def _wait_rendered(qtbot, view: PdfView, service: RenderService, page: int) -> None:
    qtbot.waitUntil(lambda: service.cached(view.doc_key(), page, view._render_scale())
                    is not None, timeout=10_000)
    qtbot.wait(20)  # let the repaint happen


def _dark_pixels(image: QImage) -> int:
    return sum(1 for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)
               if image.pixelColor(x, y).lightness() < 80)


def _linked_pdf() -> bytes:
    """Five pages; page 1 has an outline, a link to page 4 (y=300) and a web link."""
    doc = pymupdf.open()
    for n in range(5):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 100), f"Section {n + 1}", fontsize=24)
    doc[0].insert_link({"kind": pymupdf.LINK_GOTO, "from": pymupdf.Rect(72, 200, 272, 240),
                        "page": 3, "to": pymupdf.Point(0, 300)})
    doc[0].insert_link({"kind": pymupdf.LINK_URI, "from": pymupdf.Rect(72, 300, 272, 340),
                        "uri": "https://example.org/guide"})
    doc.set_toc([[1, "Introduction", 1], [1, "Moderation", 3], [2, "House rules", 4]])
    data = doc.tobytes()
    doc.close()
    return data


def _viewport_point(view: PdfView, page: int, x_pt: float, y_pt: float) -> QPoint:
    x, y = view._layout.to_pixels(page, x_pt, y_pt)
    return QPoint(round(x - view.horizontalScrollBar().value()),
                  round(y - view.verticalScrollBar().value()))


def test_thirty_pages_show_and_scroll(qtbot, service: RenderService) -> None:
    view = _show(qtbot, service, make_pdf(THIRTY))
    assert view.page_count() == 30
    assert view.current_page() == 0
    assert view.accessibleName() == "PDF pages"
    assert "page 1 of 30" in view.accessibleDescription()
    before = view.viewport().grab().toImage()
    _wait_rendered(qtbot, view, service, 0)
    after = view.viewport().grab().toImage()
    assert _dark_pixels(before) == 0  # the placeholder: no text yet
    assert _dark_pixels(after) > 50  # the rendered page's text

    with qtbot.waitSignal(view.page_changed, timeout=2_000):
        for _ in range(3):
            qtbot.keyClick(view, Qt.Key.Key_PageDown)
    page = view.current_page()
    assert page >= 1
    _wait_rendered(qtbot, view, service, page)  # the newly visible page was requested

    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.current_page() == 29
    _wait_rendered(qtbot, view, service, 29)
    # The bottom of the last page is blank paper: white, not the placeholder's tint.
    bottom = view.viewport().grab().toImage()
    assert bottom.pixelColor(bottom.width() // 2, bottom.height() // 2).name() == "#ffffff"
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.current_page() == 0
    # Pages far from anything shown were never rendered.
    assert service.nearest_cached("doc", 15, 1.0) is None


def test_zoom_keys_wheel_and_fit(qtbot, service: RenderService) -> None:
    view = _show(qtbot, service, make_pdf(THIRTY[:4]))
    assert view.zoom_mode() == "fit-width"
    page_width = view._layout.rects[0][2]
    assert abs(page_width - (view.viewport().width() - 2 * GAP)) <= 1
    assert view.zoom() == pytest.approx(page_width / (595 * POINTS_TO_PIXELS), abs=0.01)

    start = view.zoom()
    with qtbot.waitSignal(view.zoom_changed):
        qtbot.keyClick(view, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() > start and view.zoom_mode() == "custom"

    view.set_zoom(1.0)
    pos = QPointF(200, 150)
    wheel = QWheelEvent(pos, view.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    anchor = view._layout.to_points(0, view.horizontalScrollBar().value() + 200,
                                    view.verticalScrollBar().value() + 150)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom() == pytest.approx(1.1)
    # The point under the cursor stayed under the cursor.
    here = view._layout.to_points(0, view.horizontalScrollBar().value() + 200,
                                  view.verticalScrollBar().value() + 150)
    assert here == pytest.approx(anchor, abs=1.0)

    qtbot.keyClick(view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom_mode() == "fit-width" and view.zoom() == pytest.approx(start)
    view.set_zoom("fit-page")
    _, _, width, height = view._layout.rects[0]
    assert height <= view.viewport().height() and width < view.viewport().width()


def test_outline_and_links(qtbot, service: RenderService) -> None:
    view = _show(qtbot, service, _linked_pdf())
    assert [(e.level, e.title, e.page) for e in view.outline()] == [
        (1, "Introduction", 0), (1, "Moderation", 2), (2, "House rules", 3)]

    urls: list[str] = []
    view.external_link_clicked.connect(urls.append)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=_viewport_point(view, 0, 150, 320))
    assert urls == ["https://example.org/guide"]
    assert view.current_page() == 0

    with qtbot.waitSignal(view.page_changed):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=_viewport_point(view, 0, 150, 220))
    assert view.current_page() == 3
    assert view.view_state()["offset"] == pytest.approx(300, abs=1)


def test_find_counts_hits_and_moves_between_them(qtbot, service: RenderService) -> None:
    pages = ["Nothing here."] * 6
    pages[1] = "The parks were busy."
    pages[4] = "More parks. Parks everywhere."
    view = _show(qtbot, service, make_pdf(pages))
    with qtbot.waitSignal(view.find_results, timeout=10_000) as blocker:
        view.find("parks")
    assert blocker.args == [3]
    # The first hit from the reader's page is current at once (no Enter needed).
    assert view.current_find_hit()[0] == 1
    assert view.current_page() == 1
    assert view.find_next() == (4, 0)
    assert view.current_page() == 4
    assert view.find_previous() == (1, 0)
    assert view.current_page() == 1
    # The current hit is painted: orange-ish pixels appear on the page.
    _wait_rendered(qtbot, view, service, 1)
    image = view.viewport().grab().toImage()
    assert any(image.pixelColor(x, y).red() > 200 and image.pixelColor(x, y).blue() < 150
               for x in range(0, image.width(), 2) for y in range(0, image.height(), 2))
    with qtbot.waitSignal(view.find_results, timeout=10_000) as blocker:
        view.find("absent words")
    assert blocker.args == [0] and view.find_next() is None


def test_view_state_round_trip(qtbot, service: RenderService) -> None:
    data = make_pdf(THIRTY[:12])
    view = _show(qtbot, service, data)
    view.set_zoom(1.5)
    view.go_to_page(7, 200)
    state = view.view_state()
    assert state == {"page": 7, "offset": pytest.approx(200, abs=1), "zoom_mode": "custom",
                     "zoom": 1.5}

    again = PdfView(service, "doc-again", data)
    qtbot.addWidget(again)
    again.restore_state(state)  # before it has opened: applied when it does
    again.resize(600, 500)
    with qtbot.waitSignal(again.opened, timeout=10_000):
        again.show()
    qtbot.waitExposed(again)
    assert again.current_page() == 7
    assert again.zoom() == 1.5 and again.zoom_mode() == "custom"
    assert again.view_state()["offset"] == pytest.approx(200, abs=1)


def test_damaged_pdf_shows_a_message(qtbot, service: RenderService) -> None:
    view = PdfView(service, "bad", b"%PDF-1.7 garbage")
    qtbot.addWidget(view)
    view.resize(500, 400)
    with qtbot.waitSignal(view.failed, timeout=10_000) as blocker:
        view.show()
    assert "cannot be opened" in blocker.args[0]
    assert view.page_count() == 0 and view.error() == blocker.args[0]
    image = view.viewport().grab().toImage()
    white = sum(1 for x in range(0, 500, 2) for y in range(0, 400, 2)
                if image.pixelColor(x, y).lightness() > 230)
    assert white > 20  # the message, in white on the grey background
    qtbot.keyClick(view, Qt.Key.Key_PageDown)  # nothing to scroll, nothing breaks
    view.set_zoom(2.0)


def test_page_that_hangs_shows_a_message_and_others_render(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEBOOK_TEST_HOOKS", "1")
    monkeypatch.setenv("CASEBOOK_TEST_HANG_PAGE", "0")
    svc = RenderService(timeout=0.6)
    try:
        view = _show(qtbot, svc, make_pdf(THIRTY[:3]), size=(500, 900))
        view.set_zoom(0.5)  # pages 1-3 all on screen
        qtbot.waitUntil(lambda: 0 in view._failed_pages, timeout=5_000)
        _wait_rendered(qtbot, view, svc, 1)
        _wait_rendered(qtbot, view, svc, 2)
        assert "too long" in view._failed_pages[0]
        assert view.page_count() == 3 and svc.restarts() == 1
    finally:
        svc.close()


def test_deleting_the_view_closes_its_document(qtbot, service: RenderService) -> None:
    view = _show(qtbot, service, make_pdf(THIRTY[:2]), key="gone")
    assert service.info("gone") is not None
    view.deleteLater()
    qtbot.waitUntil(lambda: service.info("gone") is None, timeout=2_000)


def _long_manual(*, odd_crop_box_at: int | None = None) -> bytes:
    """250 pages (past the worker's quick-open limit): roman-numbered front matter, an
    outline, a landscape fold-out at page 120, and a link on page 200. With
    ``odd_crop_box_at``, that page's CropBox reaches past its MediaBox: the page tree
    then claims a size the page does not have (MuPDF shows the overlap)."""
    doc = pymupdf.open()
    for n in range(250):
        width, height = (842, 595) if n == 119 else (595, 842)
        page = doc.new_page(width=width, height=height)
        page.insert_text((72, 100), f"Chapter page {n + 1}", fontsize=20)
    doc[199].insert_link({"kind": pymupdf.LINK_GOTO, "from": pymupdf.Rect(72, 200, 272, 240),
                          "page": 9, "to": pymupdf.Point(0, 0)})
    doc.set_page_labels([{"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 1},
                         {"startpage": 4, "prefix": "", "style": "D", "firstpagenum": 1}])
    doc.set_toc([[1, "Front matter", 1], [1, "Part one", 5], [2, "The fold-out", 120]])
    if odd_crop_box_at is not None:
        doc.xref_set_key(doc[odd_crop_box_at].xref, "CropBox", "[0 0 1800 842]")
    data = doc.tobytes()
    doc.close()
    return data


def _long_view(qtbot, service: RenderService, data: bytes) -> PdfView:
    view = PdfView(service, "long", data, title="Manual")
    qtbot.addWidget(view)
    view.resize(600, 500)
    return view


def test_a_long_pdf_shows_page_one_first_and_its_outline_and_labels_follow(
        qtbot, service: RenderService) -> None:
    view = _long_view(qtbot, service, _long_manual())
    infos = []
    zooms = []
    view.opened.connect(infos.append)
    view.zoom_changed.connect(zooms.append)
    view.show()
    # First what the first frame needs: every page's size (the fold-out included, so
    # fit width is right at once), no outline yet; then the rest, unasked.
    qtbot.waitUntil(lambda: len(infos) == 2, timeout=10_000)
    first, full = infos
    assert first.provisional and first.page_count == 250 and first.outline == ()
    assert first.sizes == full.sizes
    assert full.sizes[119] == (842.0, 595.0) and full.sizes[0] == (595.0, 842.0)
    assert len(zooms) == 1  # the page never changed size under the reader
    assert not full.provisional
    assert [entry.title for entry in view.outline()] == [
        "Front matter", "Part one", "The fold-out"]
    assert view.page_label(0) == "i" and view.page_label(4) == "1"
    assert full.links[199][0].page == 9


def test_a_place_asked_for_before_the_full_description_is_kept_after_it(
        qtbot, service: RenderService) -> None:
    view = _long_view(qtbot, service, _long_manual(odd_crop_box_at=30))
    described = []
    service.described.connect(lambda key, info: described.append(key))
    zooms = []
    view.zoom_changed.connect(zooms.append)
    view.go_to_page(180)  # before anything is known, as a restored tab does
    view.show()
    qtbot.waitUntil(lambda: described == ["long"], timeout=10_000)
    # The page tree said page 31 was 1,800 points wide; it shows 595 (what the crop box
    # and media box share). Fit width fitted the claim first, then the truth, and the
    # view stayed on its page through the change.
    assert len(zooms) == 2 and zooms[1] > zooms[0] * 1.3
    assert view.info().sizes[30] == (595.0, 842.0)
    assert view.current_page() == 180
    assert view.page_label(view.current_page()) == "177"
    _wait_rendered(qtbot, view, service, 180)
