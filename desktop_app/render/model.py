"""What the worker reports about an open PDF, as plain values (no Qt, no PyMuPDF).

Coordinates are PDF points with the origin at the page's top-left, as PyMuPDF gives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class OutlineEntry:
    level: int
    title: str
    page: int  # 0-based; -1 when the entry points nowhere in this document
    y: float | None = None


@dataclass(frozen=True)
class Link:
    rect: Rect
    page: int | None = None  # internal target, 0-based
    y: float | None = None
    uri: str | None = None

    @property
    def is_internal(self) -> bool:
        return self.page is not None


@dataclass(frozen=True)
class PdfInfo:
    title: str
    sizes: tuple[tuple[float, float], ...]
    labels: tuple[str, ...]
    outline: tuple[OutlineEntry, ...]
    links: tuple[tuple[Link, ...], ...]
    # A long document just opened: sizes from the page tree, no labels, outline or
    # links; the full description follows a moment later.
    provisional: bool = False

    @property
    def page_count(self) -> int:
        return len(self.sizes)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PdfInfo:
        sizes = tuple((float(w), float(h)) for w, h in data["sizes"])
        if data.get("provisional"):
            count = len(sizes)
            return cls(str(data.get("title") or ""), sizes,
                       tuple(str(n + 1) for n in range(count)), (), ((),) * count,
                       provisional=True)
        labels = tuple(str(label) for label in data.get("labels", ()))
        if len(labels) != len(sizes):
            labels = tuple(str(n + 1) for n in range(len(sizes)))
        outline = tuple(
            OutlineEntry(int(level), str(title), int(page), None if y is None else float(y))
            for level, title, page, y in data.get("outline", ())
        )
        links = [tuple(_link(raw) for raw in page) for page in data.get("links", ())]
        links += [()] * (len(sizes) - len(links))
        return cls(str(data.get("title") or ""), sizes, labels, outline, tuple(links))


def _link(raw: dict[str, Any]) -> Link:
    rect = tuple(float(v) for v in raw["rect"])
    page = raw.get("page")
    y = raw.get("y")
    return Link(
        rect,  # type: ignore[arg-type]
        None if page is None else int(page),
        None if y is None else float(y),
        raw.get("uri"),
    )
