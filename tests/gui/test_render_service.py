"""The render service: a real worker process rendering real PDFs, killed and hung on purpose."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage

from desktop_app.gui.reader.pdf.image_cache import ImageCache
from desktop_app.gui.reader.pdf.render_service import RenderService
from tests.packfactory import make_pdf

PAGES = [f"Page {n + 1}. Residents were asked about the parks." for n in range(6)]


@pytest.fixture
def service(qtbot) -> Iterator[RenderService]:
    svc = RenderService(timeout=10)
    yield svc
    svc.close()


def _open(qtbot, service: RenderService, key: str = "doc", pages: list[str] = PAGES) -> object:
    with qtbot.waitSignal(service.opened, timeout=10_000) as blocker:
        service.open_document(key, make_pdf(pages))
    return blocker.args[1]


def _collect(service: RenderService) -> list[tuple[str, int, float]]:
    seen: list[tuple[str, int, float]] = []
    service.rendered.connect(lambda key, page, scale, _: seen.append((key, page, scale)))
    return seen


def test_open_reports_pages_and_renders_pixels(qtbot, service: RenderService) -> None:
    info = _open(qtbot, service)
    assert info.page_count == 6
    assert info.sizes[0] == (595.0, 842.0)
    assert info.labels[:2] == ("1", "2")

    with qtbot.waitSignal(service.rendered, timeout=10_000) as blocker:
        service.request_pages("doc", [1], 0.5, device_pixel_ratio=2.0)
    key, page, scale, image = blocker.args
    assert (key, page, scale) == ("doc", 1, 0.5)
    assert (image.width(), image.height()) == (298, 421)
    assert image.devicePixelRatio() == 2.0
    assert service.cached("doc", 1, 0.5) is not None
    # Some pixels are text (dark), most are paper (white).
    dark = sum(1 for x in range(298) for y in range(60)
               if image.pixelColor(x, y).lightness() < 160)
    assert dark > 30
    assert image.pixelColor(5, 5).lightness() == 255


def test_newer_requests_replace_pending_ones(qtbot, service: RenderService) -> None:
    seen = _collect(service)
    service.open_document("doc", make_pdf(PAGES))
    # While the open is with the worker, the reader scrolls from page 1 on to page 6:
    service.request_pages("doc", [0, 1, 2, 3], 0.3)
    service.request_pages("doc", [5], 0.3)
    qtbot.waitUntil(service.is_idle, timeout=10_000)
    assert seen == [("doc", 5, 0.3)]


def test_search_returns_rectangles_per_page(qtbot, service: RenderService) -> None:
    _open(qtbot, service)
    with qtbot.waitSignal(service.found, timeout=10_000) as blocker:
        service.search("doc", 2, "parks")
    key, page, text, rects, spans = blocker.args
    assert (key, page, text) == ("doc", 2, "parks")
    assert len(rects) == 1 and len(spans) == 1
    x0, y0, x1, y1 = rects[0]
    assert 56 <= x0 < x1 <= 539 and 56 <= y0 < y1 < 100


def test_damaged_pdf_fails_to_open(qtbot, service: RenderService) -> None:
    with qtbot.waitSignal(service.open_failed, timeout=10_000) as blocker:
        service.open_document("bad", b"%PDF-1.7 garbage")
    assert blocker.args[0] == "bad"
    assert "cannot be opened" in blocker.args[1]
    # The worker is still fine for other documents.
    assert _open(qtbot, service, "good").page_count == 6


def test_a_file_is_opened_by_the_worker_and_a_second_open_while_it_is_pending_is_the_same(
        qtbot, service: RenderService, tmp_path) -> None:
    pdf = tmp_path / "minutes.pdf"
    pdf.write_bytes(make_pdf(PAGES))
    opened = []
    service.opened.connect(lambda key, info: opened.append((key, info.page_count)))
    # At start-up the window opens the file before its tab exists; the tab then asks
    # for the same file under the same key while the worker is still opening it.
    service.open_document("file", pdf)
    service.send_now()
    service.open_document("file", pdf)
    qtbot.waitUntil(service.is_idle, timeout=10_000)
    assert opened == [("file", 6)]  # opened once, answered once
    service.close_document("file")  # the start-up's hold: the tab still has it
    with qtbot.waitSignal(service.rendered, timeout=10_000) as blocker:
        service.request_pages("file", [2], 0.3)
    assert blocker.args[1] == 2
    # After a crash the worker reads the file again.
    with qtbot.waitSignal(service.worker_restarted, timeout=10_000):
        os.kill(service.worker_pid(), signal.SIGKILL)
    with qtbot.waitSignal(service.rendered, timeout=10_000) as blocker:
        service.request_pages("file", [4], 0.3)
    assert blocker.args[1] == 4


def test_a_file_that_cannot_be_read_fails_to_open_with_its_name(qtbot, service: RenderService,
                                                                 tmp_path) -> None:
    with qtbot.waitSignal(service.open_failed, timeout=10_000) as blocker:
        service.open_document("gone", tmp_path / "moved-away.pdf")
    assert blocker.args[0] == "gone"
    assert "moved-away.pdf could not be read" in blocker.args[1]
    not_pdf = tmp_path / "page.pdf"
    not_pdf.write_text("<html>a web page saved as .pdf</html>")
    with qtbot.waitSignal(service.open_failed, timeout=10_000) as blocker:
        service.open_document("html", not_pdf)
    assert "not a PDF" in blocker.args[1]


def test_killed_worker_is_restarted_and_documents_reopened(qtbot, service: RenderService) -> None:
    _open(qtbot, service)
    old_pid = service.worker_pid()
    with qtbot.waitSignal(service.worker_restarted, timeout=10_000):
        os.kill(old_pid, signal.SIGKILL)
    assert service.worker_pid() not in (0, old_pid)
    # The document was opened again in the new worker: pages still render.
    with qtbot.waitSignal(service.rendered, timeout=10_000) as blocker:
        service.request_pages("doc", [3], 0.4)
    assert blocker.args[1] == 3


def test_worker_killed_while_rendering_fails_only_that_page(qtbot, service: RenderService) -> None:
    _open(qtbot, service)
    seen = _collect(service)
    failed: list[int] = []
    service.render_failed.connect(lambda key, page, message: failed.append(page))
    service.request_pages("doc", [0, 1, 2], 3.0)  # big enough to be mid-render when killed
    os.kill(service.worker_pid(), signal.SIGKILL)
    qtbot.waitUntil(service.is_idle, timeout=10_000)
    assert failed == [0]
    assert [page for _, page, _ in seen] == [1, 2]


def test_hung_page_times_out_and_the_gui_keeps_running(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEBOOK_TEST_HOOKS", "1")
    monkeypatch.setenv("CASEBOOK_TEST_HANG_PAGE", "2")  # the worker sleeps on page 3
    svc = RenderService(timeout=0.8)
    try:
        _open(qtbot, svc)
        old_pid = svc.worker_pid()
        seen = _collect(svc)
        failed: list[tuple[int, str]] = []
        svc.render_failed.connect(lambda key, page, message: failed.append((page, message)))
        ticks: list[float] = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start(10)
        start = time.monotonic()
        with qtbot.waitSignals([svc.render_failed, svc.worker_restarted], timeout=10_000):
            svc.request_pages("doc", [1, 2, 3], 0.4)
        elapsed = time.monotonic() - start
        timer.stop()
        assert len(failed) == 1 and failed[0][0] == 2
        assert "too long" in failed[0][1]
        assert 0.7 < elapsed < 5
        # The event loop ran all along: no gap between timer ticks anywhere near the timeout.
        gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
        assert len(ticks) > elapsed / 0.01 * 0.3 and max(gaps) < 0.3
        assert svc.worker_pid() != old_pid
        qtbot.waitUntil(lambda: [p for _, p, _ in seen] == [1, 3], timeout=10_000)
        # Asked again, the hung page is not sent to the worker a second time.
        with qtbot.waitSignal(svc.render_failed, timeout=2_000):
            svc.request_pages("doc", [2], 0.4)
        assert svc.restarts() == 1
    finally:
        svc.close()


def test_close_stops_the_worker(qtbot) -> None:
    svc = RenderService()
    qtbot.waitUntil(lambda: svc.worker_pid() != 0, timeout=5_000)
    pid = svc.worker_pid()
    svc.close()
    with pytest.raises(ProcessLookupError):  # exited and reaped
        os.kill(pid, 0)


def test_worker_does_not_import_qt() -> None:
    code = ("import sys, desktop_app.render.worker; "
            "print(any(m.startswith('PySide6') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__)))))
    assert out.stdout.strip() == "False"


def test_image_cache_is_bounded_and_least_recently_used(qtbot) -> None:
    def image() -> QImage:
        img = QImage(100, 100, QImage.Format.Format_RGB888)  # 30,000 bytes
        img.fill(0)
        return img

    cache = ImageCache(limit_bytes=100_000)
    for page in range(3):
        cache.put(("d", page, 1.0), image())
    assert cache.get(("d", 0, 1.0)) is not None  # page 0 is now the most recent
    cache.put(("d", 3, 1.0), image())
    assert ("d", 1, 1.0) not in cache and ("d", 0, 1.0) in cache
    assert cache.size_bytes <= 100_000
    assert cache.any_scale("d", 0, 2.0) is not None
    cache.drop_document("d")
    assert len(cache) == 0 and cache.size_bytes == 0


def test_pages_come_through_shared_memory_exactly_and_it_is_freed(qtbot) -> None:
    import pymupdf

    svc = RenderService(timeout=10)
    try:
        buffer = svc._pixels
        assert buffer is not None and buffer.path.exists()
        _open(qtbot, svc)
        with qtbot.waitSignal(svc.rendered, timeout=10_000) as blocker:
            svc.request_pages("doc", [2], 1.0)
        image = blocker.args[3]
        # The same pixels PyMuPDF draws itself: nothing lost or shifted on the way.
        page = pymupdf.open(stream=make_pdf(PAGES), filetype="pdf")[2]
        pymupdf.TOOLS.set_icc(False)
        expected = page.get_pixmap(matrix=pymupdf.Matrix(1, 1), alpha=False)
        assert (image.width(), image.height()) == (expected.width, expected.height)
        for x, y in [(0, 0), (100, 80), (300, 420), (expected.width - 1, expected.height - 1)]:
            colour = image.pixelColor(x, y)
            assert (colour.red(), colour.green(), colour.blue()) == expected.pixel(x, y)
        # The window took its copy and gave the memory back (Linux: MADV_REMOVE).
        if sys.platform.startswith("linux"):
            assert os.stat(buffer.path).st_blocks == 0
        path = buffer.path
    finally:
        svc.close()
    assert not path.exists()


def test_a_long_pdf_is_answered_at_once_and_described_in_full_after_the_first_page(
        qtbot, service: RenderService) -> None:
    pages = [f"Page {n + 1}." for n in range(260)]
    events = []
    service.opened.connect(lambda key, info: events.append(("opened", info.provisional)))
    service.described.connect(lambda key, info: events.append(("described", info.provisional)))
    service.rendered.connect(lambda key, page, *_: events.append(("rendered", page)))
    service.open_document("long", make_pdf(pages))
    service.request_pages("long", [0], 0.3)
    qtbot.waitUntil(service.is_idle, timeout=10_000)
    # Page 1 is drawn before the worker walks the other 259 pages.
    assert events == [("opened", True), ("rendered", 0), ("described", False)]
    assert not service.info("long").provisional
    # A restarted worker opens it again; what the views were told stands.
    events.clear()
    with qtbot.waitSignal(service.worker_restarted, timeout=10_000):
        os.kill(service.worker_pid(), signal.SIGKILL)
    service.request_pages("long", [100], 0.3)
    qtbot.waitUntil(lambda: service.is_idle() and bool(events), timeout=10_000)
    assert events == [("rendered", 100)]
    assert not service.info("long").provisional


def test_the_quick_open_reads_every_page_size_as_loading_the_page_would() -> None:
    import pymupdf

    from desktop_app.render.worker import describe, describe_quickly

    doc = pymupdf.open()
    for _ in range(6):
        doc.new_page(width=595, height=842)
    doc[1].set_rotation(90)
    doc[2].set_cropbox(pymupdf.Rect(10, 20, 400, 500))
    doc[3].set_mediabox(pymupdf.Rect(0, 0, 842, 595))
    doc[4].set_rotation(270)
    doc[4].set_cropbox(pymupdf.Rect(0, 0, 300, 600))
    reopened = pymupdf.open("pdf", doc.tobytes())
    quick = describe_quickly(reopened)
    assert quick["provisional"] and len(quick["sizes"]) == 6
    assert quick["sizes"] == [[round(w, 3), round(h, 3)] for w, h in describe(reopened)["sizes"]]
    assert quick["sizes"][1] == [842.0, 595.0] and quick["sizes"][4] == [600.0, 300.0]


def test_a_page_mupdf_cannot_load_fails_alone_and_says_why_in_words(
        qtbot, service: RenderService) -> None:
    from tests.reliability.hostile_files import one_bad_page_pdf

    described = []  # a short document is described in full at once, in "opened"
    for signal_ in (service.opened, service.described):
        signal_.connect(lambda key, info: described.append(info) if not info.provisional
                        else None)
    failed, drawn = [], []
    service.render_failed.connect(lambda key, page, message: failed.append((page, message)))
    service.rendered.connect(lambda key, page, *_: drawn.append(page))
    service.open_document("bad-page", one_bad_page_pdf())
    qtbot.waitUntil(lambda: bool(described), timeout=10_000)
    assert described[0].page_count == 3  # the whole document, not an error for all of it
    service.request_pages("bad-page", [0, 1, 2], 0.3)
    qtbot.waitUntil(lambda: service.is_idle() and len(drawn) + len(failed) == 3,
                    timeout=10_000)
    assert sorted(drawn) == [0, 2]
    assert failed == [(1, "This page could not be drawn: its page tree loops back on itself.")]
