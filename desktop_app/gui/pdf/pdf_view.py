"""PdfView: every page of one PDF in a continuous vertical scroll.

The view never touches MuPDF. It asks the RenderService for the pages on screen (and one
either side) at the current zoom × devicePixelRatio, and paints only images the service
has cached: a page not rendered yet is a placeholder, a page that failed shows why.
"""

from __future__ import annotations

import contextlib
import math
from functools import partial
from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
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
from PySide6.QtWidgets import QAbstractScrollArea, QFrame, QWidget

from desktop_app.gui.pdf import layout as geometry
from desktop_app.gui.pdf.find_state import FindState, Hit
from desktop_app.gui.pdf.layout import GAP, PageLayout
from desktop_app.gui.pdf.model import Link, OutlineEntry, PdfInfo
from desktop_app.gui.pdf.render_service import RenderService

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


class PdfView(QAbstractScrollArea):
    opened = Signal(object)  # PdfInfo
    failed = Signal(str)  # the document cannot be shown; the message is for the user
    page_changed = Signal(int)
    zoom_changed = Signal(float)
    find_results = Signal(int)  # total hits, once every page has been searched
    external_link_clicked = Signal(str)  # a URI link; the window decides what to do

    def __init__(
        self,
        service: RenderService,
        doc_key: str,
        pdf_bytes: bytes,
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
        self._pressed_link: Link | None = None

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
        service.open_failed.connect(self._on_open_failed)
        service.rendered.connect(self._on_rendered)
        service.render_failed.connect(self._on_render_failed)
        service.found.connect(self._on_found)
        self.destroyed.connect(partial(_release, service, doc_key))
        service.open_document(doc_key, pdf_bytes)

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

    def _on_found(self, key: str, page: int, text: str, rects: list) -> None:
        if key != self._key or text != self._find.text or not self._find.add(page, rects):
            return
        if rects:
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
        if self._layout is None or self._info is None:
            return None
        x = self.horizontalScrollBar().value() + pos.x()
        y = self.verticalScrollBar().value() + pos.y()
        page = self._layout.page_at(y)
        x_pt, y_pt = self._layout.to_points(page, x, y)
        for link in self._info.links[page]:
            x0, y0, x1, y1 = link.rect
            if x0 <= x_pt <= x1 and y0 <= y_pt <= y1:
                return link
        return None

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

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, ctrl = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        vbar, hbar = self.verticalScrollBar(), self.horizontalScrollBar()
        if event.matches(QKeySequence.StandardKey.ZoomIn) or (ctrl and key == Qt.Key.Key_Equal):
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

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._pressed_link = None
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed_link = self.link_at(event.position())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        link, self._pressed_link = self._pressed_link, None
        if event.button() == Qt.MouseButton.LeftButton and link is not None \
                and self.link_at(event.position()) == link:
            self._follow(link)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        over = self.link_at(event.position()) is not None
        shape = Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(shape)
        super().mouseMoveEvent(event)

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
            painter.fillRect(rect.translated(2, 3), SHADOW)
            image = self._service.cached(self._key, page, scale)
            if image is not None and _fits(image, rect):
                painter.save()
                painter.setClipRect(rect)
                painter.fillRect(rect, QColor("white"))
                painter.drawImage(QPoint(rect.x(), rect.y()), image)  # 1:1 device pixels
                painter.restore()
            elif image is not None:  # rendered smaller than the page: the pixel cap
                painter.drawImage(QRectF(rect), image)
            else:
                stand_in = self._service.nearest_cached(self._key, page, scale)
                if stand_in is not None:
                    painter.drawImage(QRectF(rect), stand_in)
                else:
                    self._paint_placeholder(painter, rect, page)
            self._paint_highlights(painter, page, rect)

    def _paint_placeholder(self, painter: QPainter, rect: QRect, page: int) -> None:
        painter.fillRect(rect, PLACEHOLDER)
        painter.setPen(PLACEHOLDER_TEXT)
        message = self._failed_pages.get(page)
        text = f"Page {self.page_label(page)}\n\n{message}" if message else \
            f"Page {self.page_label(page)}\n…"
        # Centred in the part of the page on screen: on a tall page the middle may not be.
        shown = rect.intersected(self.viewport().rect()).adjusted(16, 16, -16, -16)
        painter.drawText(shown, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

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


def _qrect_args(rect: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = rect
    return x0, y0, x1 - x0, y1 - y0


def _release(service: RenderService, doc_key: str, *_: object) -> None:
    """The view is gone: its document need not stay open in the worker."""
    with contextlib.suppress(RuntimeError):  # the service went first (application exit)
        service.close_document(doc_key)
