"""PdfView: every page of one PDF in a continuous vertical scroll.

The view never touches MuPDF. It asks the RenderService for the pages on screen (and one
either side) at the current zoom × devicePixelRatio, and paints only images the service
has cached: a page not rendered yet is a placeholder, a page that failed shows why.

Over the pages it paints saved highlights (``marks``), find hits and the text selection.
Selection follows the characters' boxes the worker reports (``page_text``), fetched for
the pages on screen; its offsets are into the page's stored (normalised) text.
"""

from __future__ import annotations

import contextlib
import math
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QElapsedTimer, QEvent, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QFrame, QWidget

from desktop_app.gui.reader.pdf import layout as geometry
from desktop_app.gui.reader.pdf.find_state import FindState, Hit
from desktop_app.gui.reader.pdf.layout import GAP, PageLayout
from desktop_app.gui.reader.pdf.marks import (
    AnnotationMark,
    note_marker_rect,
    paint_marks,
    paint_selection,
)
from desktop_app.gui.reader.pdf.render_service import RenderService
from desktop_app.gui.reader.pdf.text_selection import SelectionTool
from desktop_app.render.model import Link, OutlineEntry, PdfInfo, Rect
from desktop_app.render.page_text import PageText, PdfSelection

# Fixed colours: the page area is a neutral grey in light and dark themes alike, so
# white pages stand out without glaring.
BACKGROUND = QColor("#6d7075")
PLACEHOLDER = QColor("#f3f2ee")
PLACEHOLDER_TEXT = QColor("#8a8a86")
SHADOW = QColor(0, 0, 0, 60)
HIGHLIGHT = QColor(255, 210, 0, 90)
CURRENT_HIGHLIGHT = QColor(255, 120, 0, 150)
# One render of one page is capped at this many pixels (at 400 % on a high-DPI screen a
# page would be ~60 Mpx); past it the image is drawn stretched. Tiles would lift this.
MAX_RENDER_PIXELS = 24_000_000
ZOOM_MODES = ("fit-width", "fit-page")
# Dragging the selection past the viewport's edge scrolls by up to this much per tick.
AUTOSCROLL_MAX = 40


class PdfView(QAbstractScrollArea):
    opened = Signal(object)  # PdfInfo; again when a provisional one is completed
    failed = Signal(str)  # the document cannot be shown; the message is for the user
    page_changed = Signal(int)
    zoom_changed = Signal(float)
    find_results = Signal(int)  # total hits, once every page has been searched
    external_link_clicked = Signal(str)  # a URI link; the window decides what to do
    selection_changed = Signal()  # ``selection()`` changed (or went away)
    annotation_clicked = Signal(str)  # uuid of a highlight clicked without dragging
    page_shown = Signal()  # the first page image was painted (once per view)

    def __init__(
        self,
        service: RenderService,
        doc_key: str,
        source: bytes | Path,
        parent: QWidget | None = None,
        *,
        title: str = "",
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._key = doc_key
        self._title = title
        self._info: PdfInfo | None = None
        self._largest_area = 1.0  # of the biggest page, in points²: caps the render scale
        self._error: str | None = None
        self._mode = "fit-width"
        self._factor = 1.0  # used when the mode is "custom"
        self._layout: PageLayout | None = None
        self._failed_pages: dict[int, str] = {}
        self._highlights: dict[int, list[QRectF]] = {}
        self._current_highlight: Hit | None = None
        self._find = FindState()
        self._pending_find: str | None = None
        self._pending_place: tuple[int, float | None] | None = None
        self._current = -1
        self._page_shown = False
        self._pressed_link: Link | None = None
        # Not a bound method: the tool would keep the view's wrapper alive in a cycle.
        self._selector = SelectionTool(partial(_page_text, service, doc_key))
        # A selection asked for before its page's characters arrived: (page, start, end)
        # or (page, hit rectangle), applied when they do.
        self._pending_selection: tuple[int, int, int] | tuple[int, Rect] | None = None
        self._press_pos: QPointF | None = None  # a left press that may become a click or drag
        self._dragging = False
        self._last_pointer = QPointF()
        self._double_click = QElapsedTimer()  # a press soon after a double-click is a triple
        self._double_click_pos = QPointF()
        self._marks: dict[int, list[AnnotationMark]] = {}
        self._autoscroll = QTimer(self)
        self._autoscroll.setInterval(30)
        self._autoscroll.timeout.connect(self._autoscroll_step)

        self._request_timer = QTimer(self)  # coalesces the many scroll steps of one gesture
        self._request_timer.setSingleShot(True)
        self._request_timer.setInterval(0)
        self._request_timer.timeout.connect(self._request_visible)

        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)  # no fit loops
        self.viewport().setMouseTracking(True)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAccessibleName("PDF pages")
        self.setAccessibleDescription(f"{title or 'PDF document'}, opening")

        service.opened.connect(self._on_opened)
        service.described.connect(self._on_described)
        service.open_failed.connect(self._on_open_failed)
        service.rendered.connect(self._on_rendered)
        service.render_failed.connect(self._on_render_failed)
        service.found.connect(self._on_found)
        service.chars_ready.connect(self._on_chars)
        self.destroyed.connect(partial(_release, service, doc_key))
        service.open_document(doc_key, source)

    # -- about the document -------------------------------------------------------------

    def doc_key(self) -> str:
        return self._key

    def info(self) -> PdfInfo | None:
        return self._info

    def error(self) -> str | None:
        return self._error

    def page_count(self) -> int:
        return self._info.page_count if self._info else 0

    def page_label(self, index: int) -> str:
        if self._info and 0 <= index < self._info.page_count:
            return self._info.labels[index]
        return str(index + 1)

    def outline(self) -> list[OutlineEntry]:
        return list(self._info.outline) if self._info else []

    # -- where we are -------------------------------------------------------------------

    def current_page(self) -> int:
        """The page at the top of the viewport (the last page when scrolled to the end)."""
        if self._layout is None:
            return max(0, self._pending_place[0]) if self._pending_place else 0
        bar = self.verticalScrollBar()
        if bar.value() >= bar.maximum() > 0:
            return self.page_count() - 1
        return self._layout.page_at(bar.value() + GAP)

    def go_to_page(self, index: int, y_points: float | None = None) -> None:
        """Scroll so page ``index`` starts at the top, or its point ``y_points`` does."""
        if self._layout is None:
            self._pending_place = (index, y_points)
            return
        index = min(max(0, index), self.page_count() - 1)
        top = self._layout.rects[index][1]
        # Without a point, leave half a gap above the page so its top edge shows.
        target = top - GAP // 2 if y_points is None else top + y_points * self._layout.px_per_point
        self.verticalScrollBar().setValue(round(target))
        self._page_moved()

    def view_state(self) -> dict[str, Any]:
        """Enough to come back to the same place: page, position in it, zoom."""
        page = self.current_page()
        offset = 0.0
        if self._layout is not None:
            offset = self._layout.to_points(page, 0, self.verticalScrollBar().value())[1]
        elif self._pending_place and self._pending_place[1] is not None:
            offset = self._pending_place[1]
        return {"page": page, "offset": round(offset, 2), "zoom_mode": self._mode,
                "zoom": round(self.zoom(), 4)}

    def restore_state(self, state: dict[str, Any]) -> None:
        mode = state.get("zoom_mode", "fit-width")
        if mode in ZOOM_MODES:
            self._mode = mode
        else:
            self._mode, self._factor = "custom", geometry.clamp_zoom(float(state.get("zoom", 1)))
        page = int(state.get("page", 0))
        offset = state.get("offset")
        self._relayout()
        self.go_to_page(page, None if offset is None else float(offset))

    # -- zoom ---------------------------------------------------------------------------

    def zoom(self) -> float:
        """The zoom factor in effect (1.0 = actual size), whatever the mode."""
        return self._layout.zoom if self._layout else self._factor

    def zoom_mode(self) -> str:
        """"fit-width", "fit-page" or "custom"."""
        return self._mode

    def set_zoom(self, mode_or_factor: str | float, anchor: QPointF | None = None) -> None:
        """"fit-width", "fit-page", or a factor (clamped to 0.5–4.0). The point under
        ``anchor`` (viewport coordinates; default the top-left) stays where it is."""
        if isinstance(mode_or_factor, str):
            if mode_or_factor not in ZOOM_MODES:
                raise ValueError(f"unknown zoom mode {mode_or_factor!r}")
            self._mode = mode_or_factor
        else:
            self._mode, self._factor = "custom", geometry.clamp_zoom(float(mode_or_factor))
        self._relayout(anchor or QPointF(0, 0))

    def zoom_in(self) -> None:
        self.set_zoom(geometry.step_zoom(self.zoom(), +1))

    def zoom_out(self) -> None:
        self.set_zoom(geometry.step_zoom(self.zoom(), -1))

    # -- highlights and find ------------------------------------------------------------

    def set_highlights(self, rects: dict[int, list[QRectF]], current: Hit | None = None) -> None:
        """Mark rectangles (PDF points, top-left origin) on pages; ``current`` stronger."""
        self._highlights = {page: list(r) for page, r in rects.items() if r}
        self._current_highlight = current
        self.viewport().update()

    def find(self, text: str) -> None:
        """Search every page, starting at the current one; ``find_results`` tells the total
        when all pages have answered. Hits are highlighted as they arrive."""
        self._service.cancel_searches(self._key)
        if self._info is None:
            self._pending_find = text
            return
        start = self.current_page()
        count = self.page_count()
        pages = [(start + i) % count for i in range(count)] if text else []
        self._find = FindState(text, pages)
        self._show_find()
        if not pages:
            self.find_results.emit(0)
        for page in pages:
            self._service.search(self._key, page, text)

    def find_next(self) -> Hit | None:
        return self._find_step(+1)

    def find_previous(self) -> Hit | None:
        return self._find_step(-1)

    def find_total(self) -> int:
        return self._find.total

    def current_find_hit(self) -> tuple[int, list[Rect]] | None:
        """The current find hit: its page and rectangles (PDF points)."""
        hit = self._find.current
        if hit is None or hit[0] not in self._find.hits:
            return None
        return hit[0], [self._find.hits[hit[0]][hit[1]]]

    def select_find_hit(self) -> bool:
        """Select the characters under the current find hit (for keyboard users, who
        cannot drag). False if there is no current hit; otherwise the selection is made
        now, or when the page's characters arrive (``selection_changed`` says when)."""
        hit = self.current_find_hit()
        if hit is None:
            return False
        span = self._find.current_span()
        if span is not None:
            self._select_later(span)  # exactly the words found, even across lines
            return True
        page, rects = hit
        self._select_later((page, rects[0]))
        return True

    # -- text selection -----------------------------------------------------------------

    def selection(self) -> PdfSelection | None:
        """The selected text: its page, offsets into that page's stored text,
        the text, and one rectangle per line in PDF points."""
        return self._selector.selection

    def select_range(self, page: int, start: int, end: int) -> None:
        """Select page text[start:end]; done at once if the page's characters are known,
        else when they arrive."""
        self._select_later((page, start, end))

    def clear_selection(self) -> None:
        self._pending_selection = None
        self._selection_update(self._selector.clear())

    def copy_selection(self) -> bool:
        selection = self._selector.selection
        if selection is None:
            return False
        QGuiApplication.clipboard().setText(selection.text)
        return True

    def _select_later(self, request: tuple[int, int, int] | tuple[int, Rect]) -> None:
        self._pending_selection = request
        if self._page_text(request[0]) is not None:
            self._apply_pending_selection()

    def _apply_pending_selection(self) -> None:
        request, self._pending_selection = self._pending_selection, None
        if request is None:
            return
        page, text = request[0], self._page_text(request[0])
        if text is None:
            return
        if len(request) == 2:  # a find hit: the characters inside its rectangle
            x0, y0, x1, y1 = request[1]  # type: ignore[misc]
            span = text.range_in((x0 - 1, y0 - 1, x1 + 1, y1 + 1))
            if span is None:
                return
            start, end = span
        else:
            start, end = request[1], request[2]  # type: ignore[misc]
        self._selection_update(self._selector.select_range(page, start, end))
        selection = self._selector.selection
        if selection is not None and selection.rects:
            self._scroll_to_rect(page, QRectF(*_qrect_args(selection.rects[0])))

    def _selection_update(self, changed: bool) -> None:
        if changed:
            self.viewport().update()
            self.selection_changed.emit()

    def _page_text(self, page: int) -> PageText | None:
        return _page_text(self._service, self._key, page)

    def page_text(self, page: int) -> str | None:
        """The page's text as stored (normalised), once its characters have arrived."""
        loaded = self._page_text(page)
        return loaded.text if loaded is not None else None

    # -- annotations --------------------------------------------------------------------

    def set_annotations(self, marks: list[AnnotationMark]) -> None:
        """Show these saved highlights (replacing those shown before)."""
        self._marks = {}
        for mark in marks:
            self._marks.setdefault(mark.page, []).append(mark)
        self.viewport().update()

    def annotation_at(self, pos: QPointF) -> str | None:
        """The uuid of the highlight (or its note marker) under a viewport position; the
        one painted last wins where they overlap."""
        point = self._page_point(pos)
        if point is None:
            return None
        page, x_pt, y_pt = point
        for mark in reversed(self._marks.get(page, [])):
            if mark.has_note and mark.rects and note_marker_rect(
                    self._page_rect_to_view(page, mark.rects[-1])).contains(pos):
                return mark.uuid
            for x0, y0, x1, y1 in mark.rects:
                if x0 <= x_pt <= x1 and y0 <= y_pt <= y1:
                    return mark.uuid
        return None

    def scroll_to_annotation(self, uuid: str) -> bool:
        """Bring a highlight into view; False if it is not among those shown."""
        for page, marks in self._marks.items():
            for mark in marks:
                if mark.uuid == uuid and mark.rects:
                    self._scroll_to_rect(page, QRectF(*_qrect_args(mark.rects[0])))
                    return True
        return False

    # -- service replies ----------------------------------------------------------------

    def _on_opened(self, key: str, info: PdfInfo) -> None:
        if key != self._key:
            return
        self._info, self._error = info, None
        self._largest_area = max(w * h for w, h in info.sizes)
        self._title = self._title or info.title
        self._relayout()
        index, y = self._pending_place or (0, None)
        self._pending_place = None
        self.go_to_page(index, y)
        self._page_moved()
        self.opened.emit(info)
        if self._pending_find is not None:
            text, self._pending_find = self._pending_find, None
            self.find(text)

    def _on_described(self, key: str, info: PdfInfo) -> None:
        """The full description after a provisional one: true page sizes, labels, the
        outline and links. The page at the top of the view stays where it is."""
        if key != self._key or self._info is None:
            return
        self._info = info
        self._largest_area = max(w * h for w, h in info.sizes)
        self._title = self._title or info.title
        self._relayout()
        self._current = -1  # its label may have changed ("1" -> "i")
        self._page_moved()
        self.opened.emit(info)

    def _on_open_failed(self, key: str, message: str) -> None:
        if key != self._key:
            return
        self._info, self._layout, self._error = None, None, message
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.verticalScrollBar().setRange(0, 0)
        self.setAccessibleDescription(f"{self._title or 'PDF document'}: {message}")
        self.viewport().update()
        self.failed.emit(message)

    def _on_rendered(self, key: str, page: int, scale: float, image: object) -> None:
        if key == self._key and self._is_near_view(page):
            self.viewport().update()

    def _on_render_failed(self, key: str, page: int, message: str) -> None:
        if key == self._key:
            self._failed_pages[page] = message
            self.viewport().update()

    def _on_chars(self, key: str, page: int, text: object) -> None:
        if key != self._key:
            return
        if self._pending_selection is not None and self._pending_selection[0] == page:
            self._apply_pending_selection()
        if self._press_pos is not None and self._selector.anchor is None:
            # The button went down before the page's characters were here.
            point = self._page_point(self._press_pos)
            if point is not None and point[0] == page:
                self._selector.begin(*point)

    def _on_found(self, key: str, page: int, text: str, rects: list, spans: list) -> None:
        if key != self._key or text != self._find.text \
                or not self._find.add(page, rects, spans):
            return
        if rects and self._find.current is None:
            # Pages answer in order from the reader's page on: the first hit to arrive
            # is the next one from here, so go to it while the reader is still typing.
            self._find_step(+1)
        elif rects:
            self._show_find()
        if self._find.done:
            self.find_results.emit(self._find.total)

    # -- layout and requests ------------------------------------------------------------

    def _relayout(self, anchor: QPointF | None = None) -> None:
        """Lay the pages out again for the current zoom and size, keeping the point under
        ``anchor`` (default: the top of the viewport) where it was."""
        if self._info is None:
            return
        size = self.viewport().size()
        if self._mode == "fit-width":
            zoom = geometry.fit_width_zoom(self._info.sizes, size.width())
        elif self._mode == "fit-page":
            zoom = geometry.fit_page_zoom(self._info.sizes, size.width(), size.height())
        else:
            zoom = self._factor
        kept = self._anchor(anchor or QPointF(0, 0))
        old_zoom = self._layout.zoom if self._layout else None
        self._layout = geometry.layout_pages(self._info.sizes, zoom, size.width())
        vbar, hbar = self.verticalScrollBar(), self.horizontalScrollBar()
        vbar.setRange(0, max(0, self._layout.height - size.height()))
        vbar.setPageStep(max(1, size.height() - 40))  # Page Down keeps a line of context
        vbar.setSingleStep(40)
        hbar.setRange(0, max(0, self._layout.width - size.width()))
        hbar.setPageStep(max(1, size.width() - 40))
        hbar.setSingleStep(40)
        if kept is not None:
            page, x_pt, y_pt, point = kept
            x, y = self._layout.to_pixels(page, x_pt, y_pt)
            hbar.setValue(round(x - point.x()))
            vbar.setValue(round(y - point.y()))
        self.viewport().update()
        self._schedule_requests()
        if old_zoom is None or not math.isclose(old_zoom, zoom, rel_tol=1e-4):
            self.zoom_changed.emit(zoom)

    def _anchor(self, point: QPointF) -> tuple[int, float, float, QPointF] | None:
        """The page and PDF point now under ``point`` of the viewport."""
        if self._layout is None:
            return None
        x = self.horizontalScrollBar().value() + point.x()
        y = self.verticalScrollBar().value() + point.y()
        page = self._layout.page_at(y)
        x_pt, y_pt = self._layout.to_points(page, x, y)
        return page, x_pt, y_pt, point

    def _render_scale(self) -> float:
        assert self._layout is not None and self._info is not None
        scale = self._layout.px_per_point * self.devicePixelRatioF()
        return min(scale, math.sqrt(MAX_RENDER_PIXELS / self._largest_area))

    def _schedule_requests(self) -> None:
        self._request_timer.start()

    def _request_visible(self) -> None:
        if self._layout is None:
            return
        visible = self._visible_pages()
        if not visible:
            return
        ahead = [p for p in (visible[-1] + 1, visible[0] - 1) if 0 <= p < self.page_count()]
        wanted = [p for p in visible + ahead if p not in self._failed_pages]
        self._service.request_pages(self._key, wanted, self._render_scale(),
                                    self.devicePixelRatioF())
        # Characters of the pages on screen, so the pointer can select at once.
        self._service.prefetch_chars(self._key, visible)

    def _visible_pages(self) -> list[int]:
        if self._layout is None:
            return []
        top = self.verticalScrollBar().value()
        return self._layout.pages_between(top, top + self.viewport().height())

    def _is_near_view(self, page: int) -> bool:
        visible = self._visible_pages()
        return bool(visible) and visible[0] - 1 <= page <= visible[-1] + 1

    def _page_moved(self) -> None:
        page = self.current_page()
        if page != self._current and self._info is not None:
            self._current = page
            self.setAccessibleDescription(
                f"{self._title or 'PDF document'}, page {self.page_label(page)} "
                f"of {self.page_count()}")
            self.page_changed.emit(page)

    # -- find helpers -------------------------------------------------------------------

    def _find_step(self, direction: int) -> Hit | None:
        hit = self._find.step(direction, self.current_page())
        self._show_find()
        if hit is not None:
            self._scroll_to_rect(hit[0], QRectF(*_qrect_args(self._find.hits[hit[0]][hit[1]])))
        return hit

    def _show_find(self) -> None:
        rects = {page: [QRectF(*_qrect_args(r)) for r in hits]
                 for page, hits in self._find.hits.items()}
        self.set_highlights(rects, self._find.current)

    def _scroll_to_rect(self, page: int, rect: QRectF) -> None:
        """Bring a rectangle (PDF points) into view, a third of the way down if it moves,
        and make its page the current one (its top never scrolls above the viewport)."""
        if self._layout is None:
            return
        x, y = self._layout.to_pixels(page, rect.left(), rect.top())
        w, h = rect.width() * self._layout.px_per_point, rect.height() * self._layout.px_per_point
        vbar, hbar = self.verticalScrollBar(), self.horizontalScrollBar()
        size = self.viewport().size()
        visible = vbar.value() <= y and y + h <= vbar.value() + size.height()
        if not visible or self.current_page() != page:
            page_top = self._layout.rects[page][1] - GAP // 2
            vbar.setValue(round(max(y - size.height() / 3, page_top)))
        if not (hbar.value() <= x and x + w <= hbar.value() + size.width()):
            hbar.setValue(round(x - size.width() / 3))
        self._page_moved()

    # -- links --------------------------------------------------------------------------

    def link_at(self, pos: QPointF) -> Link | None:
        """The link under a viewport position, if any."""
        point = self._page_point(pos)
        if point is None or self._info is None:
            return None
        page, x_pt, y_pt = point
        for link in self._info.links[page]:
            x0, y0, x1, y1 = link.rect
            if x0 <= x_pt <= x1 and y0 <= y_pt <= y1:
                return link
        return None

    def _page_point(self, pos: QPointF) -> tuple[int, float, float] | None:
        """The page at a viewport position (the one below, in a gap) and the position in
        its points; None before the document is laid out."""
        if self._layout is None or not self._layout.rects:
            return None
        x = self.horizontalScrollBar().value() + pos.x()
        y = self.verticalScrollBar().value() + pos.y()
        page = self._layout.page_at(y)
        x_pt, y_pt = self._layout.to_points(page, x, y)
        return page, x_pt, y_pt

    def _page_rect_to_view(self, page: int, rect: Rect) -> QRectF:
        """A rectangle in a page's points, in viewport coordinates."""
        assert self._layout is not None
        x, y = self._layout.to_pixels(page, rect[0], rect[1])
        ppp = self._layout.px_per_point
        return QRectF(x - self.horizontalScrollBar().value(),
                      y - self.verticalScrollBar().value(),
                      (rect[2] - rect[0]) * ppp, (rect[3] - rect[1]) * ppp)

    def _follow(self, link: Link) -> None:
        if link.page is not None:
            self.go_to_page(link.page, link.y)
        elif link.uri:
            self.external_link_clicked.emit(link.uri)

    # -- Qt events ----------------------------------------------------------------------

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.viewport().update()
        self._schedule_requests()
        self._page_moved()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._relayout()

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.viewport().update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.viewport().update()

    def event(self, event: QEvent) -> bool:
        # With a selection, Copy and Escape are ours even if the window has shortcuts on
        # those keys (an Edit > Copy action, Escape closing the find bar).
        if event.type() == QEvent.Type.ShortcutOverride and self._owns_key(event):
            event.accept()
            return True
        return super().event(event)

    def _owns_key(self, event: QKeyEvent) -> bool:
        return self._selector.selection is not None and (
            event.matches(QKeySequence.StandardKey.Copy) or event.key() == Qt.Key.Key_Escape)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, ctrl = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        vbar, hbar = self.verticalScrollBar(), self.horizontalScrollBar()
        if self._owns_key(event):
            if key == Qt.Key.Key_Escape:
                self.clear_selection()
            else:
                self.copy_selection()
        elif event.matches(QKeySequence.StandardKey.ZoomIn) or (ctrl and key == Qt.Key.Key_Equal):
            self.zoom_in()
        elif event.matches(QKeySequence.StandardKey.ZoomOut):
            self.zoom_out()
        elif ctrl and key == Qt.Key.Key_0:
            self.set_zoom("fit-width")
        elif key == Qt.Key.Key_Home:
            vbar.setValue(vbar.minimum())
        elif key == Qt.Key.Key_End:
            vbar.setValue(vbar.maximum())
        elif key in (Qt.Key.Key_PageDown, Qt.Key.Key_Space):
            vbar.triggerAction(vbar.SliderAction.SliderPageStepAdd)
        elif key == Qt.Key.Key_PageUp:
            vbar.triggerAction(vbar.SliderAction.SliderPageStepSub)
        elif key == Qt.Key.Key_Down:
            vbar.triggerAction(vbar.SliderAction.SliderSingleStepAdd)
        elif key == Qt.Key.Key_Up:
            vbar.triggerAction(vbar.SliderAction.SliderSingleStepSub)
        elif key == Qt.Key.Key_Right:
            hbar.triggerAction(hbar.SliderAction.SliderSingleStepAdd)
        elif key == Qt.Key.Key_Left:
            hbar.triggerAction(hbar.SliderAction.SliderSingleStepSub)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.set_zoom(self.zoom() * 1.1 ** steps, anchor=event.position())
            event.accept()
            return
        super().wheelEvent(event)

    # A left press is a click (follow a link, open a highlight, clear the selection) or,
    # once the pointer moves past the drag distance, a selection drag. Double-click
    # selects a word, a third click a line, Shift+click extends the selection.

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        pos = event.position()
        point = self._page_point(pos)
        self._pressed_link, self._dragging, self._press_pos = None, False, None
        event.accept()
        if point is None:
            return
        if self._is_triple_click(pos):
            self._selection_update(self._selector.select_line(*point))
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier \
                and self._selector.anchor is not None:
            self._selection_update(self._selector.extend(*point))
            self._press_pos, self._dragging = pos, True  # moving on keeps extending
            return
        self._pressed_link = self.link_at(pos)
        self._press_pos = pos
        self._selector.begin(*point)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self._last_pointer = pos
        held = bool(event.buttons() & Qt.MouseButton.LeftButton)
        if held and self._press_pos is not None:
            if not self._dragging and (pos - self._press_pos).manhattanLength() \
                    >= QApplication.startDragDistance():
                self._dragging, self._pressed_link = True, None
            if self._dragging:
                self._drag_to(pos)
                inside = self.viewport().rect().contains(pos.toPoint())
                if inside:
                    self._autoscroll.stop()
                elif not self._autoscroll.isActive():
                    self._autoscroll.start()
            event.accept()
            return
        self.viewport().setCursor(self._cursor_at(pos))
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        self._autoscroll.stop()
        pos = event.position()
        press, self._press_pos = self._press_pos, None
        link, self._pressed_link = self._pressed_link, None
        dragged, self._dragging = self._dragging, False
        event.accept()
        if press is None or dragged:
            return
        if link is not None and self.link_at(pos) == link:
            self._follow(link)
            return
        # A plain click drops the selection, as in any text view, but keeps its caret.
        self._pending_selection = None
        self._selection_update(self._selector.clear(keep_anchor=True))
        uuid = self.annotation_at(pos)
        if uuid is not None:
            self.annotation_clicked.emit(uuid)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mouseDoubleClickEvent(event)
            return
        event.accept()
        self._press_pos, self._dragging = None, False
        point = self._page_point(event.position())
        if point is not None:
            self._selection_update(self._selector.select_word(*point))
        self._double_click.start()
        self._double_click_pos = event.position()

    def _is_triple_click(self, pos: QPointF) -> bool:
        timer = self._double_click
        triple = timer.isValid() and timer.elapsed() < QApplication.doubleClickInterval() \
            and (pos - self._double_click_pos).manhattanLength() \
            < QApplication.startDragDistance()
        timer.invalidate()
        return triple

    def _drag_to(self, pos: QPointF) -> None:
        point = self._page_point(pos)
        if point is not None:
            self._selection_update(self._selector.extend(*point))

    def _autoscroll_step(self) -> None:
        """While a selection drag is past the top or bottom edge, scroll towards it."""
        pos, height = self._last_pointer, self.viewport().height()
        beyond = pos.y() if pos.y() < 0 else max(0.0, pos.y() - height)
        if not beyond or self._press_pos is None:
            self._autoscroll.stop()
            return
        step = max(-AUTOSCROLL_MAX, min(AUTOSCROLL_MAX, round(beyond / 2) or int(beyond)))
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + step)
        self._drag_to(pos)

    def _cursor_at(self, pos: QPointF) -> Qt.CursorShape:
        """A hand over links and note markers, an I-beam over text, else an arrow."""
        if self.link_at(pos) is not None:
            return Qt.CursorShape.PointingHandCursor
        point = self._page_point(pos)
        if point is None:
            return Qt.CursorShape.ArrowCursor
        page, x_pt, y_pt = point
        for mark in self._marks.get(page, []):
            if mark.has_note and mark.rects and note_marker_rect(
                    self._page_rect_to_view(page, mark.rects[-1])).contains(pos):
                return Qt.CursorShape.PointingHandCursor
        text = self._service.page_text(self._key, page)
        if text is not None and text.line_at(x_pt, y_pt, slack=1.0) is not None:
            return Qt.CursorShape.IBeamCursor
        return Qt.CursorShape.ArrowCursor

    # -- painting -----------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        painter.fillRect(event.rect(), BACKGROUND)
        if self._error is not None or self._layout is None:
            self._paint_message(painter, self._error or "Opening…")
        else:
            self._paint_pages(painter, event.rect())
        if self.hasFocus():
            # The focus frame: inside the edge, so it shows even in a tight layout.
            pen = QPen(self.palette().highlight().color(), 2)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.viewport().rect().adjusted(1, 1, -1, -1))
        painter.end()

    def _paint_message(self, painter: QPainter, message: str) -> None:
        painter.setPen(QColor("white"))
        area = self.viewport().rect().adjusted(24, 24, -24, -24)
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, message)

    def _paint_pages(self, painter: QPainter, clip: QRect) -> None:
        assert self._layout is not None
        sx, sy = self.horizontalScrollBar().value(), self.verticalScrollBar().value()
        scale = round(self._render_scale(), 4)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        for page in self._layout.pages_between(sy + clip.top(), sy + clip.bottom() + 1):
            x, y, w, h = self._layout.rects[page]
            rect = QRect(x - sx, y - sy, w, h)
            # The shadow as two strips, not a page-sized fill under the page: each full
            # fill is another write of every visible pixel, on every scroll step.
            painter.fillRect(QRect(rect.right() + 1, rect.top() + 3, 2, rect.height()), SHADOW)
            painter.fillRect(QRect(rect.left() + 2, rect.bottom() + 1, rect.width(), 3), SHADOW)
            image = self._service.cached(self._key, page, scale)
            if image is not None and _fits(image, rect):
                painter.save()
                painter.setClipRect(rect)
                if _short_of(image, rect):  # a pixel of rounding: white, not the background
                    painter.fillRect(rect, QColor("white"))
                painter.drawImage(QPoint(rect.x(), rect.y()), image)  # 1:1 device pixels
                painter.restore()
                self._shown_once()
            elif image is not None:  # rendered smaller than the page: the pixel cap
                painter.drawImage(QRectF(rect), image)
                self._shown_once()
            else:
                stand_in = self._service.nearest_cached(self._key, page, scale)
                if stand_in is not None:
                    painter.drawImage(QRectF(rect), stand_in)
                else:
                    self._paint_placeholder(painter, rect, page)
            self._paint_overlays(painter, page, rect)

    def _shown_once(self) -> None:
        if not self._page_shown:
            self._page_shown = True
            self.page_shown.emit()

    def _paint_placeholder(self, painter: QPainter, rect: QRect, page: int) -> None:
        painter.fillRect(rect, PLACEHOLDER)
        painter.setPen(PLACEHOLDER_TEXT)
        message = self._failed_pages.get(page)
        text = f"Page {self.page_label(page)}\n\n{message}" if message else \
            f"Page {self.page_label(page)}\n…"
        # Centred in the part of the page on screen: on a tall page the middle may not be.
        shown = rect.intersected(self.viewport().rect()).adjusted(16, 16, -16, -16)
        painter.drawText(shown, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

    def _paint_overlays(self, painter: QPainter, page: int, rect: QRect) -> None:
        """Saved highlights, then find hits, then the selection, over the page image."""
        if self._layout is None:
            return
        ppp = self._layout.px_per_point

        def to_view(r: Rect) -> QRectF:
            return QRectF(rect.x() + r[0] * ppp, rect.y() + r[1] * ppp,
                          (r[2] - r[0]) * ppp, (r[3] - r[1]) * ppp)

        painter.save()
        painter.setClipRect(rect)
        paint_marks(painter, self._marks.get(page, ()), to_view)
        self._paint_highlights(painter, page, rect)
        selection = self._selector.selection
        if selection is not None and selection.page == page:
            paint_selection(painter, [to_view(r) for r in selection.rects],
                            self.palette().highlight().color())
        painter.restore()

    def _paint_highlights(self, painter: QPainter, page: int, rect: QRect) -> None:
        marks = self._highlights.get(page)
        if not marks or self._layout is None:
            return
        ppp = self._layout.px_per_point
        for index, mark in enumerate(marks):
            current = self._current_highlight == (page, index)
            target = QRectF(rect.x() + mark.x() * ppp, rect.y() + mark.y() * ppp,
                            mark.width() * ppp, mark.height() * ppp)
            painter.fillRect(target, CURRENT_HIGHLIGHT if current else HIGHLIGHT)


def _fits(image: QImage, rect: QRect) -> bool:
    """Whether the image, at its device pixel ratio, is the page's size (±1 px of
    rounding), so it can be drawn unscaled and stay crisp."""
    dpr = image.devicePixelRatio() or 1.0
    return (abs(image.width() / dpr - rect.width()) <= 1.5
            and abs(image.height() / dpr - rect.height()) <= 1.5)


def _short_of(image: QImage, rect: QRect) -> bool:
    """Whether the image, drawn 1:1, leaves part of the page's rectangle uncovered."""
    dpr = image.devicePixelRatio() or 1.0
    return image.width() / dpr < rect.width() or image.height() / dpr < rect.height()


def _qrect_args(rect: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = rect
    return x0, y0, x1 - x0, y1 - y0


def _page_text(service: RenderService, doc_key: str, page: int) -> PageText | None:
    """A page's characters, asked for if they are not here yet."""
    info = service.info(doc_key)
    if info is None or not 0 <= page < info.page_count:
        return None
    text = service.page_text(doc_key, page)
    if text is None:
        service.request_chars(doc_key, page)
    return text


def _release(service: RenderService, doc_key: str, *_: object) -> None:
    """The view is gone: its document need not stay open in the worker."""
    with contextlib.suppress(RuntimeError):  # the service went first (application exit)
        service.close_document(doc_key)
