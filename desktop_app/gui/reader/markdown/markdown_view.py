"""A case study: its stored, sanitised HTML in a read-only browser that loads pack images only.

QTextBrowser fetches nothing from the web, but it reads any local file a document
names (and on Windows ``file://host/share`` is a network path), by two routes:

- ``QTextDocument.loadResource``, which reads local files. Overriding it on the
  browser does not help (the document loads resources itself); overriding it on a
  QTextDocument subclass does: :class:`SafeDocument`.
- Qt's image handler, which, when a document's resource is a null image, "tries direct
  loading" of the image name with QImageReader (and on high-DPI screens first checks
  the disk for ``name@2x``). So SafeDocument never answers an image request with
  nothing (refused images get a transparent 1x1 image), and it renames every image
  that is not a pack path before anything lays the document out.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, QRegularExpression, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QKeyEvent,
    QKeySequence,
    QShowEvent,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextImageFormat,
    QWheelEvent,
)
from PySide6.QtWidgets import QTextBrowser, QTextEdit, QWidget

log = logging.getLogger(__name__)
ResourceType = QTextDocument.ResourceType
_PROPORTIONAL = QTextBlockFormat.LineHeightTypes.ProportionalHeight.value

EXTERNAL_SCHEMES = frozenset({"http", "https", "mailto"})
SCALE_STEPS = (50, 67, 80, 90, 100, 110, 125, 150, 175, 200, 250, 300)
MIN_SCALE, MAX_SCALE = SCALE_STEPS[0], SCALE_STEPS[-1]
# Lines longer than about 80 characters are hard to follow back to the next line's
# start; QTextDocument has no max-width for text, so wide views get side margins.
READABLE_LINE_CHARS = 80
MIN_SIDE_MARGIN = 16
MAX_FIND_HITS = 5000
ALL_HITS_COLOUR = QColor("#ffe680")
CURRENT_HIT_COLOUR = QColor("#ff9c33")

# Sizes are relative (headings use Qt's own steps from the default font) so the text
# scale enlarges everything; colours are greys that read on light and dark themes.
STYLE_SHEET = """
h1, h2, h3, h4 { margin-top: 18px; margin-bottom: 8px; }
p, li, dd { margin-bottom: 6px; line-height: 135%; }
ul, ol { margin-left: 8px; }
blockquote { margin-left: 20px; margin-right: 20px; font-style: italic; }
table { border-collapse: collapse; border: 1px solid #8c8c8c; margin-top: 6px;
        margin-bottom: 10px; }
th, td { border: 1px solid #8c8c8c; padding: 4px 8px; }
th { font-weight: bold; }
pre, code, kbd { font-family: monospace; }
pre { margin-left: 12px; }
"""


def _blocked_image() -> QImage:
    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    return image


BLOCKED_IMAGE = _blocked_image()


def pack_media_path(url: QUrl) -> str | None:
    """The pack path an image URL names, or None for anything that is not one.

    Only plain relative paths inside the pack qualify: no scheme (file:, http:, data:,
    a Windows drive letter), no host (``//server/share``), not absolute, no ``..``.
    """
    if url.isEmpty() or url.scheme() or url.authority() or url.hasQuery():
        return None
    path = url.path()
    if not path or path.startswith("/") or "\\" in path or ":" in path:
        return None
    if ".." in path.split("/"):
        return None
    return posixpath.normpath(path)


def link_kind(url: QUrl) -> str:
    """What a clicked link is: "anchor", "external", "document" or "ignore"."""
    scheme = url.scheme().lower()
    if scheme in EXTERNAL_SCHEMES:
        return "external"
    if scheme or url.authority():
        return "ignore"  # file:, javascript:, data:, C:, //server/share ...
    path = url.path()
    if not path:
        return "anchor" if url.fragment() else "ignore"
    if path.startswith("/") or "\\" in path or ":" in path:
        return "ignore"
    return "document"


class SafeDocument(QTextDocument):
    """A document whose only resources are images of its own pack, read via ``load_media``.

    Give it HTML with :meth:`set_safe_html` before it is shown: plain ``setHtml``
    leaves hostile image names in place for Qt's image handler to see.
    """

    def __init__(self, load_media: Callable[[str], bytes | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._load_media = load_media
        self._images: dict[str, QImage | None] = {}

    def set_safe_html(self, html: str) -> None:
        """Set ``html``, then blank the name of every image that is not a pack path.

        A document has no layout until a view asks for one, so nothing has looked at
        the images yet when they are renamed.
        """
        self.setHtml(html)
        for position, image_format in _image_formats(self):
            if pack_media_path(QUrl(image_format.name())) is None:
                cursor = QTextCursor(self)
                cursor.setPosition(position)
                cursor.setPosition(position + 1, QTextCursor.MoveMode.KeepAnchor)
                image_format.setName("")
                cursor.setCharFormat(image_format)

    def loadResource(self, type: int, url: QUrl) -> Any:
        if type != ResourceType.ImageResource.value:
            return None  # style sheets, Markdown, anything else: never loaded
        # Never None for an image: a null image makes Qt read the name as a file itself.
        return self.pack_image(url) or BLOCKED_IMAGE

    def pack_image(self, url: QUrl) -> QImage | None:
        path = pack_media_path(url)
        if path is None:
            return None
        if path not in self._images:
            # Cached per path, missing ones too: layout asks again on every relayout.
            self._images[path] = self._decode(path)
        return self._images[path]

    def _decode(self, path: str) -> QImage | None:
        try:
            data = self._load_media(path)
        except Exception:
            log.exception("Could not read the image %s from the pack", path)
            return None
        if not data:
            return None
        image = QImage.fromData(data)
        return None if image.isNull() else image


class MarkdownView(QTextBrowser):
    """Read-only view of a case study; links are reported by signal, never followed here."""

    document_link_clicked = Signal(str)
    external_link_clicked = Signal(QUrl)

    def __init__(self, html: str, load_media: Callable[[str], bytes | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._annotation_selections: list[QTextEdit.ExtraSelection] = []
        self._image_boxes: list[tuple[int, float, float]] = []
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        document = SafeDocument(load_media, self)
        document.setUndoRedoEnabled(False)
        document.setDefaultStyleSheet(STYLE_SHEET)
        document.setDefaultFont(self.font())
        document.set_safe_html(html)  # before setDocument, which gives it a layout
        self.setDocument(document)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Case study text")
        self.setAccessibleDescription(
            "The case study's text. Arrow keys move the reading cursor, Tab moves between "
            "links, Ctrl+plus and Ctrl+minus change the text size.")
        self._base_font = QFont(self.font())
        self._scale = 100
        self._hits: list[QTextCursor] = []
        self._current = -1
        self._pending_fraction: float | None = None
        self.anchorClicked.connect(self._on_link)
        self._image_boxes = self._image_sizes()
        self._fit_text_width()

    # --- links and resources ----------------------------------------------------------
    def loadResource(self, type: int, name: QUrl) -> Any:
        return None  # SafeDocument answers its own resources; nothing else loads here

    def doSetSource(self, name: QUrl, type: ResourceType = ResourceType.UnknownResource) -> None:
        """Never navigate: a link is reported, and the window decides what to do."""

    def _on_link(self, url: QUrl) -> None:
        kind = link_kind(url)
        if kind == "anchor":
            self.go_to_anchor(url.fragment())
        elif kind == "external":
            self.external_link_clicked.emit(QUrl(url))
        elif kind == "document":
            self.document_link_clicked.emit(url.toString())

    # --- text size and line length ----------------------------------------------------
    def text_scale(self) -> int:
        return self._scale

    def set_text_scale(self, percent: int) -> None:
        percent = round(min(MAX_SCALE, max(MIN_SCALE, percent)))
        fraction = self._scroll_fraction()
        self._scale = percent
        font = QFont(self._base_font)
        if self._base_font.pointSizeF() > 0:
            font.setPointSizeF(self._base_font.pointSizeF() * percent / 100)
        else:
            font.setPixelSize(max(1, round(self._base_font.pixelSize() * percent / 100)))
        # QTextEdit hands its font on as the document's default font, so headings
        # (sized relative to it) grow with the text.
        self.setFont(font)
        self._fit_text_width()
        self._set_scroll_fraction(fraction)

    def zoom_in(self) -> None:
        self.set_text_scale(next((s for s in SCALE_STEPS if s > self._scale), MAX_SCALE))

    def zoom_out(self) -> None:
        self.set_text_scale(next((s for s in reversed(SCALE_STEPS) if s < self._scale),
                                 MIN_SCALE))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # The window's View menu may own these shortcuts; this covers the view on its own.
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        key = event.key()
        if event.matches(QKeySequence.StandardKey.ZoomIn) or (
                ctrl and key in (Qt.Key.Key_Equal, Qt.Key.Key_Plus)):
            self.zoom_in()
        elif event.matches(QKeySequence.StandardKey.ZoomOut) or (ctrl and key == Qt.Key.Key_Minus):
            self.zoom_out()
        elif ctrl and key == Qt.Key.Key_0:
            self.set_text_scale(100)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        # QTextEdit zooms on Ctrl+wheel by itself, behind our back; keep one scale.
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            delta = event.angleDelta().y()
            if delta > 0:
                self.zoom_in()
            elif delta < 0:
                self.zoom_out()
            event.accept()
            return
        super().wheelEvent(event)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_text_width()

    def _fit_text_width(self) -> None:
        """Side margins that keep lines to a readable length on wide views."""
        document = self.document()
        widest = QFontMetricsF(document.defaultFont()).averageCharWidth() * READABLE_LINE_CHARS
        side = max(MIN_SIDE_MARGIN, (self.viewport().width() - widest) / 2)
        root = document.rootFrame()
        frame_format = root.frameFormat()
        if abs(frame_format.leftMargin() - side) >= 1:
            frame_format.setLeftMargin(side)
            frame_format.setRightMargin(side)
            frame_format.setTopMargin(MIN_SIDE_MARGIN)
            frame_format.setBottomMargin(MIN_SIDE_MARGIN)
            root.setFrameFormat(frame_format)
        self._fit_images(self.viewport().width() - 2 * side)

    def _image_sizes(self) -> list[tuple[int, float, float]]:
        """(position, width, height) of each pack image, as the HTML or the file sizes it."""
        document = self.document()
        sizes = []
        for position, image_format in _image_formats(document):
            image = document.pack_image(QUrl(image_format.name()))
            if image is None:
                continue
            width, height = image_format.width(), image_format.height()
            if width <= 0 and height <= 0:
                width, height = image.width(), image.height()
            elif width <= 0:
                width = height * image.width() / max(1, image.height())
            elif height <= 0:
                height = width * image.height() / max(1, image.width())
            sizes.append((position, width, height))
            # Proportional line height (the style sheet's 135%) would add a third of
            # the image's height below it: image lines get single spacing.
            cursor = QTextCursor(document.findBlock(position))
            block_format = cursor.blockFormat()
            block_format.setLineHeight(100, _PROPORTIONAL)
            cursor.setBlockFormat(block_format)
        return sizes

    def _fit_images(self, column: float) -> None:
        """Scale images wider than their column down to fit it, never up.

        Set as each image's size rather than CSS max-width: Qt 6.12 narrows an image
        for max-width but still reserves its full height.
        """
        document = self.document()
        for position, width, height in self._image_boxes:
            block = document.findBlock(position)
            room = max(32.0, column - _indent(document, block) - 4)
            target = min(width, room)
            cursor = QTextCursor(document)
            cursor.setPosition(position)
            cursor.setPosition(position + 1, QTextCursor.MoveMode.KeepAnchor)
            image_format = cursor.charFormat().toImageFormat()
            if not image_format.isValid() or abs(image_format.width() - target) < 0.5:
                continue
            image_format.setWidth(target)
            image_format.setHeight(height * target / width)
            cursor.setCharFormat(image_format)

    # --- where the reader is ----------------------------------------------------------
    def go_to_anchor(self, anchor: str) -> bool:
        """Scroll to the heading (or other element) with this id; False if there is none."""
        position = self._anchor_position(anchor)
        if position is None:
            return False
        self._place_cursor(position)
        self.scrollToAnchor(anchor)  # deferred by Qt until shown, if hidden
        return True

    def go_to_section(self, label: str) -> bool:
        """Scroll to the heading whose text is ``label`` (for sections without an id)."""
        wanted = _normal(label)
        block = self.document().begin()
        while block.isValid():
            if block.blockFormat().headingLevel() and _normal(block.text()) == wanted:
                anchors = _anchor_names(block)
                if anchors:
                    return self.go_to_anchor(anchors[0])
                self._place_cursor(block.position())
                self._scroll_to_block(block)
                return True
            block = block.next()
        return False

    def _anchor_position(self, anchor: str) -> int | None:
        block = self.document().begin()
        while block.isValid():
            iterator = block.begin()
            while not iterator.atEnd():
                fragment = iterator.fragment()
                if anchor in fragment.charFormat().anchorNames():
                    return fragment.position()
                iterator += 1
            block = block.next()
        return None

    def _place_cursor(self, position: int) -> None:
        # The keyboard reading cursor goes along, so arrow keys continue from there.
        cursor = QTextCursor(self.document())
        cursor.setPosition(position)
        self.setTextCursor(cursor)

    def view_state(self) -> dict[str, Any]:
        bar = self.verticalScrollBar()
        return {"scroll_fraction": self._scroll_fraction(), "scroll_position": bar.value(),
                "text_scale": self._scale}

    def restore_state(self, state: dict[str, Any]) -> None:
        """Apply a :meth:`view_state`; unknown or damaged values are ignored."""
        scale = state.get("text_scale")
        if isinstance(scale, int | float) and not isinstance(scale, bool):
            self.set_text_scale(int(scale))
        fraction = state.get("scroll_fraction")
        if isinstance(fraction, int | float) and not isinstance(fraction, bool):
            self._set_scroll_fraction(min(1.0, max(0.0, float(fraction))))

    def _scroll_fraction(self) -> float:
        bar = self.verticalScrollBar()
        return bar.value() / bar.maximum() if bar.maximum() > 0 else 0.0

    def _set_scroll_fraction(self, fraction: float) -> None:
        if not self.isVisible():
            # The layout (and so the scroll range) is only right once shown at its size.
            self._pending_fraction = fraction
            return
        self.document().documentLayout().documentSize()  # finish the layout first
        bar = self.verticalScrollBar()
        bar.setValue(round(fraction * bar.maximum()))

    def _scroll_to_block(self, block: QTextBlock) -> None:
        def scroll() -> None:
            top = self.document().documentLayout().blockBoundingRect(block).top()
            self.verticalScrollBar().setValue(round(top))

        if self.isVisible():
            scroll()
        else:  # positions are only right once laid out at the shown width
            self._pending_fraction = None
            QTimer.singleShot(0, self, scroll)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._pending_fraction is not None:
            fraction, self._pending_fraction = self._pending_fraction, None
            QTimer.singleShot(0, self, lambda: self._set_scroll_fraction(fraction))

    # --- find and highlighted words ---------------------------------------------------
    def find(self, text: str) -> int:  # type: ignore[override]
        """Highlight every occurrence of ``text`` (any case); select the first in view."""
        self._hits = self._collect(text) if text else []
        self._current = -1
        if self._hits:
            self._current = self._first_hit_in_view()
            self._show_current()
        self._paint_hits()
        return len(self._hits)

    def highlight_words(self, words: list[str]) -> int:
        """Mark the words of a search hit (and longer forms of them) without scrolling.

        Search matches word forms ("resident" finds "residents"), so each word is
        highlighted wherever a word starts with it. ``find_next`` then steps through them.
        """
        words = [word for word in words if word.strip()]
        self._hits, self._current = [], -1
        if words:
            pattern = r"\b(?:" + "|".join(QRegularExpression.escape(w) for w in words) + r")\w*"
            self._hits = self._collect(QRegularExpression(
                pattern, QRegularExpression.PatternOption.CaseInsensitiveOption
                | QRegularExpression.PatternOption.UseUnicodePropertiesOption))
        self._paint_hits()
        return len(self._hits)

    def find_next(self) -> bool:
        return self._step(1)

    def find_previous(self) -> bool:
        return self._step(-1)

    def clear_find(self) -> None:
        self._hits, self._current = [], -1
        self._paint_hits()

    def find_count(self) -> int:
        return len(self._hits)

    def current_find_index(self) -> int:
        """Index of the selected hit, or -1."""
        return self._current

    def _collect(self, needle: str | QRegularExpression) -> list[QTextCursor]:
        document = self.document()
        hits: list[QTextCursor] = []
        cursor = QTextCursor(document)
        while len(hits) < MAX_FIND_HITS:
            cursor = document.find(needle, cursor)
            if cursor.isNull() or not cursor.hasSelection():
                break
            hits.append(cursor)
        return hits

    def _first_hit_in_view(self) -> int:
        top = self.cursorForPosition(QPoint(0, 0)).position()
        return next((i for i, hit in enumerate(self._hits) if hit.selectionStart() >= top), 0)

    def _step(self, step: int) -> bool:
        if not self._hits:
            return False
        if self._current < 0:
            first = self._first_hit_in_view()
            self._current = first if step > 0 else (first - 1) % len(self._hits)
        else:
            self._current = (self._current + step) % len(self._hits)
        self._show_current()
        self._paint_hits()
        return True

    def _show_current(self) -> None:
        hit = self._hits[self._current]
        self.setTextCursor(QTextCursor(hit))  # selected: copyable, and read out by screen readers
        rect = self.cursorRect(hit)
        viewport = self.viewport().rect()
        if not viewport.contains(rect):
            # Centred rather than at the edge, so the hit is read in context.
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() + rect.center().y() - viewport.height() // 2)

    # --- the reader's highlights ----------------------------------------------------
    def set_annotation_marks(self, marks: list[tuple[str, float, QColor]]) -> None:
        """Paint saved highlights: (quote, where it is as a fraction of the text, colour).

        The stored text and this document's text differ in white space, so a quote is
        found by its first line, and among repeats the one nearest its position wins.
        """
        self._annotation_selections = []
        length = max(1, self.document().characterCount())
        for quote, fraction, colour in marks:
            first_line = " ".join(next((ln for ln in quote.splitlines() if ln.strip()), "")
                                  .split())
            if not first_line:
                continue
            cursors = self._collect(first_line)
            if not cursors:
                continue
            best = min(cursors, key=lambda c: abs(c.selectionStart() / length - fraction))
            selection = QTextEdit.ExtraSelection()
            selection.cursor = best
            char_format = QTextCharFormat()
            char_format.setBackground(colour)
            char_format.setForeground(QColor("black"))  # readable on light colours in dark themes
            selection.format = char_format
            self._annotation_selections.append(selection)
        self._paint_hits()

    def selected_quote(self) -> tuple[str, float] | None:
        """The selected text and where it starts, as a fraction of the text."""
        cursor = self.textCursor()
        if not cursor.hasSelection():
            return None
        text = cursor.selectedText().replace("\u2029", "\n").replace("\u2028", "\n")
        if not text.strip():
            return None
        return text, cursor.selectionStart() / max(1, self.document().characterCount())

    def _paint_hits(self) -> None:
        selections = list(self._annotation_selections)
        for index, hit in enumerate(self._hits):
            selection = QTextEdit.ExtraSelection()
            selection.cursor = hit
            char_format = QTextCharFormat()
            char_format.setBackground(
                CURRENT_HIT_COLOUR if index == self._current else ALL_HITS_COLOUR)
            char_format.setForeground(QColor("black"))  # readable on yellow in dark themes
            selection.format = char_format
            selections.append(selection)
        self.setExtraSelections(selections)


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _image_formats(document: QTextDocument) -> list[tuple[int, QTextImageFormat]]:
    found = []
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            char_format = fragment.charFormat()
            if char_format.isImageFormat():
                # Identical neighbouring images share one fragment: one entry per character.
                found.extend((fragment.position() + offset, char_format.toImageFormat())
                             for offset in range(fragment.length()))
            iterator += 1
        block = block.next()
    return found


def _indent(document: QTextDocument, block: QTextBlock) -> float:
    """How much narrower than the text column this block is (lists, quotes)."""
    block_format = block.blockFormat()
    indent = block_format.indent()
    text_list = block.textList()
    if text_list is not None:
        indent += text_list.format().indent()
    return (block_format.leftMargin() + block_format.rightMargin()
            + max(0.0, block_format.textIndent()) + indent * document.indentWidth())


def _anchor_names(block: QTextBlock) -> list[str]:
    iterator = block.begin()
    while not iterator.atEnd():
        names = iterator.fragment().charFormat().anchorNames()
        if names:
            return list(names)
        iterator += 1
    return []

