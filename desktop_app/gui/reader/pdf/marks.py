"""Saved annotations as the view paints them, and how it paints them and the selection.

``AnnotationMark`` is plain data the window builds from the core's annotations (their
``PdfRectsSelector`` rectangles); the view never reads the annotation store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from desktop_app.render.model import Rect

# Highlighter colours, multiplied onto the page: paper takes the colour, black text
# stays black (a plain translucent fill would grey the text).
COLOURS = {
    "yellow": QColor("#ffe866"),
    "green": QColor("#b4eeb4"),
    "blue": QColor("#b3d9ff"),
    "pink": QColor("#ffc2e0"),
    "orange": QColor("#ffcf99"),
}
NOTE_MARKER = 11.0  # logical pixels: the square at the end of a highlight with a note
SELECTION_ALPHA = 100


@dataclass(frozen=True)
class AnnotationMark:
    uuid: str
    page: int  # 0-based
    rects: tuple[Rect, ...]  # PDF points, top-left origin, one per line
    colour_name: str = "yellow"
    state: str = "anchored"  # "anchored", "fuzzy" (dashed outline) or "orphaned"
    has_note: bool = False


def colour(name: str) -> QColor:
    return QColor(COLOURS.get(name, COLOURS["yellow"]))


def note_marker_rect(last_rect: QRectF) -> QRectF:
    """Where the note marker of a highlight ending in ``last_rect`` (view pixels) sits:
    just after its end, on its line. (Astride the corner it covered the line above:
    line boxes overlap a little.)"""
    size = NOTE_MARKER
    return QRectF(last_rect.right() + 1, last_rect.center().y() - size / 2, size, size)


def paint_marks(painter: QPainter, marks: Sequence[AnnotationMark],
                to_view: Callable[[Rect], QRectF]) -> None:
    for mark in marks:
        rects = [to_view(r) for r in mark.rects]
        if not rects:
            continue
        fill = colour(mark.colour_name)
        area = _union(rects)
        painter.save()
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Multiply)
        painter.fillPath(area, fill)
        painter.restore()
        if mark.state != "anchored":
            # Re-anchored by a fuzzy match (or lost): the text may have moved under it.
            # One outline round the whole highlight, not one per line through the text.
            painter.save()
            painter.setPen(QPen(_strong(fill), 1.2, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(area.simplified())
            painter.restore()
        if mark.has_note:
            _paint_note_marker(painter, note_marker_rect(rects[-1]), _strong(fill))


def _strong(pastel: QColor) -> QColor:
    """The highlighter's hue, saturated and darker: visible on white and on the pastel."""
    hue = max(0, pastel.hsvHue())
    return QColor.fromHsv(hue, min(255, pastel.hsvSaturation() * 2 + 90), 185)


def _paint_note_marker(painter: QPainter, rect: QRectF, fill: QColor) -> None:
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("white"), 1.2))
    painter.setBrush(fill)
    path = QPainterPath()
    path.addRoundedRect(rect, 2, 2)
    painter.drawPath(path)
    # A folded corner, so it reads as a note rather than a stray square.
    painter.setPen(QPen(QColor("white"), 1.0))
    corner = rect.width() * 0.4
    painter.drawLine(QPointF(rect.right() - corner, rect.bottom()),
                     QPointF(rect.right(), rect.bottom() - corner))
    painter.restore()


def paint_selection(painter: QPainter, rects: Sequence[QRectF], highlight: QColor) -> None:
    fill = QColor(highlight)
    fill.setAlpha(SELECTION_ALPHA)
    painter.fillPath(_union(rects), fill)


def _union(rects: Sequence[QRectF]) -> QPainterPath:
    """The rectangles as one area: a line's box overlaps the next line's a little, and a
    translucent fill painted twice there would show a darker band."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.WindingFill)
    for rect in rects:
        path.addRect(rect)
    return path
