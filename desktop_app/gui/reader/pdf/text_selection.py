"""What is selected, and how pointer gestures change it. No Qt: the view turns events into
page points and calls these methods, then repaints and signals if they return True.

A selection lives on one page (its offsets are into that page's text). A drag that
leaves the page where it started selects to that page's start or end, as far as the
pointer went.
"""

from __future__ import annotations

from collections.abc import Callable

from desktop_app.render.page_text import PageText, PdfSelection

TextLookup = Callable[[int], PageText | None]  # a page's text, None until it arrived


class SelectionTool:
    def __init__(self, texts: TextLookup) -> None:
        self._texts = texts
        self.selection: PdfSelection | None = None
        self.anchor: tuple[int, int] | None = None  # (page, caret) the selection grows from

    def clear(self, *, keep_anchor: bool = False) -> bool:
        """No selection. ``keep_anchor``: a plain click leaves the caret where it was
        pressed, so a later Shift+click selects from there."""
        if not keep_anchor:
            self.anchor = None
        return self._set(None)

    def select_range(self, page: int, start: int, end: int) -> bool:
        """Select page text[start:end]; False (nothing changes) until the text is known."""
        text = self._texts(page)
        if text is None:
            return False
        self.anchor = (page, min(start, end))
        self._set(text.selection(page, start, end))
        return True

    def begin(self, page: int, x: float, y: float) -> None:
        """The button went down: the caret there becomes the anchor; nothing is selected
        until the pointer moves (a click must not select a character)."""
        text = self._texts(page)
        self.anchor = (page, text.position_at(x, y)) if text is not None else None

    def extend(self, page: int, x: float, y: float) -> bool:
        """Move the free end of the selection (Shift+click, or a drag) to the point."""
        if self.anchor is None:
            return False
        anchor_page, anchor = self.anchor
        text = self._texts(anchor_page)
        if text is None:
            return False
        if page == anchor_page:
            caret = text.position_at(x, y)
        else:
            caret = len(text.text) if page > anchor_page else 0
        return self._set(text.selection(anchor_page, anchor, caret))

    def select_word(self, page: int, x: float, y: float) -> bool:
        return self._select_unit(page, x, y, PageText.word_range)

    def select_line(self, page: int, x: float, y: float) -> bool:
        return self._select_unit(page, x, y, PageText.line_range)

    def _select_unit(self, page: int, x: float, y: float,
                     unit: Callable[[PageText, int], tuple[int, int]]) -> bool:
        text = self._texts(page)
        index = text.char_at(x, y) if text is not None else None
        if text is None or index is None:
            return False
        start, end = unit(text, index)
        self.anchor = (page, start)
        return self._set(text.selection(page, start, end))

    def _set(self, selection: PdfSelection | None) -> bool:
        if selection is not None and selection.start == selection.end:
            selection = None  # an empty selection is no selection
        changed = _span(self.selection) != _span(selection)
        self.selection = selection
        return changed


def _span(selection: PdfSelection | None) -> tuple[int, int, int] | None:
    return None if selection is None else (selection.page, selection.start, selection.end)
