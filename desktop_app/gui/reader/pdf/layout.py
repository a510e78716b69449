"""Where each page sits in the continuous scroll, in logical pixels. No Qt: plain numbers.

Zoom 1.0 is "actual size": a PDF point (1/72 inch) is 96/72 logical pixels, as on a
96-dpi screen, the size users expect at 100 %.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

POINTS_TO_PIXELS = 96 / 72
GAP = 12  # between pages, and around them
ZOOM_MIN, ZOOM_MAX = 0.5, 4.0  # for factors the user picks
FIT_MIN = 0.1  # fit modes may go lower: a page must fit a small window
ZOOM_STEPS = (0.5, 0.67, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)

Sizes = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class PageLayout:
    zoom: float
    rects: tuple[tuple[int, int, int, int], ...]  # x, y, width, height of each page
    width: int  # of everything, margins included
    height: int
    tops: tuple[int, ...]  # rects' y, for bisecting

    @property
    def px_per_point(self) -> float:
        return self.zoom * POINTS_TO_PIXELS

    def page_at(self, y: float) -> int:
        """The page at height ``y``; in a gap, the page below it."""
        if not self.rects:
            return 0
        index = max(0, bisect_right(self.tops, y) - 1)
        top, h = self.rects[index][1], self.rects[index][3]
        if y >= top + h and index + 1 < len(self.rects):
            return index + 1
        return index

    def pages_between(self, y0: float, y1: float) -> list[int]:
        """Pages that show, even partly, between heights y0 and y1."""
        first = self.page_at(y0)
        pages = []
        for index in range(first, len(self.rects)):
            top, h = self.rects[index][1], self.rects[index][3]
            if top >= y1:
                break
            if top + h > y0:
                pages.append(index)
        return pages

    def to_points(self, page: int, x: float, y: float) -> tuple[float, float]:
        px, py, _, _ = self.rects[page]
        return (x - px) / self.px_per_point, (y - py) / self.px_per_point

    def to_pixels(self, page: int, x_pt: float, y_pt: float) -> tuple[float, float]:
        px, py, _, _ = self.rects[page]
        return px + x_pt * self.px_per_point, py + y_pt * self.px_per_point


def layout_pages(sizes: Sizes, zoom: float, viewport_width: int) -> PageLayout:
    """Pages one under another, each centred, GAP apart and GAP from the edges."""
    scale = zoom * POINTS_TO_PIXELS
    dims = [(max(1, round(w * scale)), max(1, round(h * scale))) for w, h in sizes]
    width = max([viewport_width] + [w + 2 * GAP for w, _ in dims])
    rects, y = [], GAP
    for w, h in dims:
        rects.append(((width - w) // 2, y, w, h))
        y += h + GAP
    return PageLayout(zoom, tuple(rects), width, y, tuple(rect[1] for rect in rects))


def fit_width_zoom(sizes: Sizes, viewport_width: int) -> float:
    widest = max((w for w, _ in sizes), default=612.0)
    return _clamp_fit((viewport_width - 2 * GAP) / (widest * POINTS_TO_PIXELS))


def fit_page_zoom(sizes: Sizes, viewport_width: int, viewport_height: int) -> float:
    tallest = max((h for _, h in sizes), default=792.0)
    by_height = (viewport_height - GAP) / (tallest * POINTS_TO_PIXELS)
    return _clamp_fit(min(fit_width_zoom(sizes, viewport_width), by_height))


def clamp_zoom(factor: float) -> float:
    return min(ZOOM_MAX, max(ZOOM_MIN, factor))


def step_zoom(current: float, direction: int) -> float:
    """The next zoom step above (direction > 0) or below the current factor."""
    if direction > 0:
        return next((s for s in ZOOM_STEPS if s > current + 1e-3), ZOOM_MAX)
    lower = [s for s in ZOOM_STEPS if s < current - 1e-3]
    return lower[-1] if lower else min(current, ZOOM_MIN)


def _clamp_fit(factor: float) -> float:
    return min(ZOOM_MAX, max(FIT_MIN, factor))
