"""Find-in-document results as they arrive page by page, and which hit is current."""

from __future__ import annotations

from desktop_app.render.model import Rect

Hit = tuple[int, int]  # (page, index of the rectangle on that page)


class FindState:
    def __init__(self, text: str = "", pages: list[int] = ()) -> None:
        self.text = text
        self.pending = set(pages)
        self.hits: dict[int, list[Rect]] = {}
        # Per page, each hit's [start, end) in the page text (when the worker gave them).
        self.spans: dict[int, list[tuple[int, int]]] = {}
        self.current: Hit | None = None

    @property
    def done(self) -> bool:
        return not self.pending

    @property
    def total(self) -> int:
        return sum(len(rects) for rects in self.hits.values())

    def add(self, page: int, rects: list[Rect],
            spans: list[tuple[int, int]] | None = None) -> bool:
        """Record one page's answer; False if it was not asked for (an older search)."""
        if page not in self.pending:
            return False
        self.pending.discard(page)
        if rects:
            self.hits[page] = list(rects)
            if spans is not None and len(spans) == len(rects):
                self.spans[page] = list(spans)
        return True

    def current_span(self) -> tuple[int, int, int] | None:
        """(page, start, end) of the current hit in its page's text, if known."""
        if self.current is None:
            return None
        page, index = self.current
        spans = self.spans.get(page)
        return (page, *spans[index]) if spans and index < len(spans) else None

    def ordered(self) -> list[Hit]:
        return [(page, i) for page in sorted(self.hits) for i in range(len(self.hits[page]))]

    def step(self, direction: int, from_page: int) -> Hit | None:
        """Move to the next (direction > 0) or previous hit, wrapping around. With no
        current hit yet, start from ``from_page`` (the page the reader is on)."""
        order = self.ordered()
        if not order:
            self.current = None
            return None
        if self.current in order:
            index = (order.index(self.current) + direction) % len(order)
        elif direction > 0:
            index = next((i for i, hit in enumerate(order) if hit[0] >= from_page), 0)
        else:
            before = [i for i, hit in enumerate(order) if hit[0] <= from_page]
            index = before[-1] if before else len(order) - 1
        self.current = order[index]
        return self.current
