"""The render worker: one child process that owns every open pymupdf.Document.

PyMuPDF is not thread-safe, and some real PDFs take minutes to render a page or crash
MuPDF outright. Keeping every MuPDF call in this process means the window never waits
on MuPDF and survives its crashes: ``render_service`` kills and restarts us.

Run as ``python -m desktop_app.render.worker``. Requests arrive on stdin and
replies leave on stdout, one at a time, as frames (``protocol``). Never import Qt here:
start-up time is paid again on every restart.

Requests (header fields; the payload is empty unless noted):

- ``{"op": "open", "id", "doc"}`` + PDF bytes, or ``{"op": "open", "id", "doc", "path"}``
  (a file we read ourselves) → ``{"op": "opened", "info": {...}}``
  For a long document (more than ``QUICK_OPEN_PAGES``) the info is provisional: page
  sizes read from the page tree, no labels, outline or links: loading every page of a
  2,400-page manual for them takes ~60 ms, and page 1 need not wait for it.
- ``{"op": "describe", "id", "doc"}`` → ``{"op": "described", "info": {...}}``: the full
  info, asked for after a provisional open (once the pages on screen are drawn).
- ``{"op": "render", "id", "doc", "page", "scale"}`` →
  ``{"op": "rendered", "width", "height", "stride", "format": "RGB888"}`` + pixels
- ``{"op": "search", "id", "doc", "page", "text"}`` → ``{"op": "found", "rects": [...]}``
- ``{"op": "chars", "id", "doc", "page"}`` → ``{"op": "chars", "text", "exact"}`` + one
  float32 box (x0, y0, x1, y1) per character of ``text``, which is the page text as
  stored: ``page.get_text("text")`` normalised (``core.documents.pdf_chars``); ``breaks`` are the
  offsets where a printed line starts inside a word joined across lines
- ``{"op": "close", "id", "doc"}`` → ``{"op": "closed"}``
- ``{"op": "quit"}`` → no reply; the worker exits.

A request that fails is answered ``{"op": "error", "id", "message"}``. Replies carry the
request's ``id`` (and its other fields back, so the service need not remember them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

import pymupdf

from desktop_app.core.documents.pdf import open_pdf, page_labels, plain_words
from desktop_app.core.documents.pdf_chars import extract_chars, normalised_chars
from desktop_app.core.normalise import find_all, fold, may_contain, normal
from desktop_app.render import protocol
from desktop_app.render.page_text import PageText, encode_boxes
from desktop_app.render.pixel_buffer import ENV as PIXEL_ENV
from desktop_app.render.pixel_buffer import PixelBuffer

# Up to this many pages, an open describes every page before it answers (a few ms);
# beyond it, the answer is provisional and the full description follows (``describe``).
QUICK_OPEN_PAGES = 200
# The biggest image one render may produce. Past this the request is refused rather
# than allocating gigabytes; the view caps its scale below this anyway.
MAX_PIXELS = 40_000_000

pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)
# Colour management is skipped (it is off by default; say so explicitly): exact colour
# does not matter for reading guidance, speed does.
pymupdf.TOOLS.set_icc(False)


class Worker:
    def __init__(self) -> None:
        self.docs: dict[str, pymupdf.Document] = {}
        shared = os.environ.get(PIXEL_ENV)
        self.pixels = PixelBuffer.attach(shared) if shared else None
        # Test-only behaviour, never enabled in normal use: hang on a given page so the
        # service's timeout and restart can be tested with a real stuck request.
        hooks = os.environ.get("CASEBOOK_TEST_HOOKS") == "1"
        hang = os.environ.get("CASEBOOK_TEST_HANG_PAGE", "") if hooks else ""
        self.hang_page = int(hang) if hang.strip().lstrip("-").isdigit() else None

    def handle(self, header: dict[str, Any], payload: bytes) -> tuple[dict[str, Any], bytes]:
        op = header.get("op")
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise ValueError(f"unknown request {op!r}")
        return handler(header, payload)

    def op_open(self, header: dict[str, Any], payload: bytes) -> tuple[dict[str, Any], bytes]:
        key = str(header["doc"])
        self._close(key)
        path = header.get("path")
        if path:
            try:
                payload = Path(path).read_bytes()
            except OSError as exc:
                raise OSError(f"{Path(path).name} could not be read ({exc.strerror})") from None
        doc = open_pdf(payload, "This document")
        self.docs[key] = doc
        info = describe(doc) if doc.page_count <= QUICK_OPEN_PAGES else describe_quickly(doc)
        return {**header, "op": "opened", "info": info}, b""

    def op_describe(self, header: dict[str, Any], _: bytes) -> tuple[dict[str, Any], bytes]:
        doc = self.docs.get(str(header["doc"]))
        if doc is None:
            raise KeyError("the document is not open")
        return {**header, "op": "described", "info": describe(doc)}, b""

    def op_render(self, header: dict[str, Any], _: bytes) -> tuple[dict[str, Any], bytes]:
        page = self._page(header)
        if self.hang_page is not None and page.number == self.hang_page:
            time.sleep(3600)
        scale = float(header["scale"])
        rect = page.rect
        if scale <= 0 or rect.width * rect.height * scale * scale > MAX_PIXELS:
            raise ValueError(f"scale {scale} is too large for this page")
        pix = page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False)
        if pix.n != 3:  # a page group in another colour space: make it RGB for Qt
            pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
        reply = {**header, "op": "rendered", "width": pix.width, "height": pix.height,
                 "stride": pix.stride, "format": "RGB888"}
        shared = self.pixels.write(pix.samples_mv) if self.pixels is not None else None
        if shared is not None:
            return {**reply, "shared": shared}, b""
        return reply, pix.samples

    def op_search(self, header: dict[str, Any], _: bytes) -> tuple[dict[str, Any], bytes]:
        # Find runs on the page text as stored (normalised), not MuPDF's search: that
        # misses "staff" printed with an "ﬀ" ligature, and a phrase across a hyphen.
        # One rectangle per hit (its first line, for a hit across lines) and its span
        # in the page text, so the view can select exactly the words found.
        query = str(header["text"])
        # Most pages hold no hit: their plain text (a few times cheaper than every
        # character's box) is enough to say so.
        plain = normal(self._page(header).get_text("text", flags=pymupdf.TEXTFLAGS_TEXT))
        if not may_contain(plain, query) or not find_all(fold(plain), query, limit=1):
            return {**header, "op": "found", "rects": [], "spans": []}, b""
        page = self._page_text(header)
        rects, spans = [], []
        for start, end in find_all(fold(page.text), query):
            lines = page.rects(start, end)
            if lines:
                rects.append(list(lines[0]))
                spans.append([start, end])
        return {**header, "op": "found", "rects": rects, "spans": spans}, b""

    def op_chars(self, header: dict[str, Any], _: bytes) -> tuple[dict[str, Any], bytes]:
        page = self._page_text(header)
        return ({**header, "op": "chars", "text": page.text, "exact": page.exact,
                 "breaks": list(page.breaks)}, encode_boxes(list(page.boxes)))

    def _page_text(self, header: dict[str, Any]) -> PageText:
        page = self._page(header)
        raw, raw_boxes, exact = extract_chars(page)
        text, boxes, breaks = normalised_chars(raw, raw_boxes)
        return PageText(text, tuple(boxes), exact, tuple(breaks))

    def op_close(self, header: dict[str, Any], _: bytes) -> tuple[dict[str, Any], bytes]:
        self._close(str(header["doc"]))
        return {**header, "op": "closed"}, b""

    def _page(self, header: dict[str, Any]) -> pymupdf.Page:
        doc = self.docs.get(str(header["doc"]))
        if doc is None:
            raise KeyError("the document is not open")
        number = int(header["page"])
        if not 0 <= number < doc.page_count:
            raise IndexError(f"no page {number + 1}")
        return doc[number]

    def _close(self, key: str) -> None:
        doc = self.docs.pop(key, None)
        if doc is not None:
            doc.close()


def describe_quickly(doc: pymupdf.Document) -> dict[str, Any]:
    """What the first frame needs, at once: every page's size, read from the page
    objects' boxes (~5 ms for 2,400 pages, where loading every page takes ~35 ms), or
    page 1's size for all of them if the page tree will not say. ``describe`` follows
    with the exact sizes, labels, outline and links."""
    first = doc[0].rect
    sizes = _box_sizes(doc) or [[first.width, first.height]] * doc.page_count
    return {
        "title": (doc.metadata or {}).get("title") or "",
        "page_count": doc.page_count,
        "sizes": sizes,
        "provisional": True,
    }


def _box_sizes(doc: pymupdf.Document) -> list[list[float]] | None:
    """Each page's CropBox (else MediaBox) with /Rotate applied, through MuPDF's own
    low-level calls: what ``page.rect`` gives without loading the page. None when any
    page lacks a readable box (``describe`` then corrects the guess)."""
    ll = pymupdf.mupdf
    try:
        pdf = ll.pdf_specifics(doc.this).m_internal
        names = [ll.PdfObj(name).m_internal for name in (
            ll.PDF_ENUM_NAME_CropBox, ll.PDF_ENUM_NAME_MediaBox, ll.PDF_ENUM_NAME_Rotate)]
        crop, media, rotate = names
        sizes = []
        for number in range(doc.page_count):
            page = ll.ll_pdf_lookup_page_obj(pdf, number)
            box = ll.ll_pdf_to_rect(ll.ll_pdf_dict_get_inheritable(page, crop)
                                    or ll.ll_pdf_dict_get_inheritable(page, media))
            width, height = abs(box.x1 - box.x0), abs(box.y1 - box.y0)
            if width <= 0 or height <= 0:
                return None
            if ll.ll_pdf_to_int(ll.ll_pdf_dict_get_inheritable(page, rotate)) % 180:
                width, height = height, width
            sizes.append([round(width, 3), round(height, 3)])
        return sizes
    except Exception:  # an odd page tree: page 1's size for all, corrected later
        return None


def describe(doc: pymupdf.Document) -> dict[str, Any]:
    """Everything the view needs before rendering: page sizes, labels, outline, links."""
    labels = page_labels(doc)
    sizes, links = [], []
    for number in range(doc.page_count):
        try:
            page = doc.load_page(number)
        except Exception:  # one page MuPDF cannot load: it shows its error when drawn
            sizes.append(sizes[-1] if sizes else [595.0, 842.0])
            links.append([])
            continue
        sizes.append([page.rect.width, page.rect.height])
        try:
            links.append([_link(raw) for raw in page.get_links()])
        except Exception:  # a broken annotation array must not hide the whole document
            links.append([])
    links = [[link for link in page if link] for page in links]
    return {
        "title": (doc.metadata or {}).get("title") or "",
        "sizes": sizes,
        "labels": labels,
        "outline": _outline(doc),
        "links": links,
    }


def _outline(doc: pymupdf.Document) -> list[list[Any]]:
    try:
        toc = doc.get_toc(simple=False)
    except Exception:
        return []
    entries = []
    for item in toc:
        level, title, page = item[0], item[1], item[2]
        dest = item[3] if len(item) > 3 and isinstance(item[3], dict) else {}
        to = dest.get("to")
        y = float(to.y) if to is not None and page > 0 else None
        entries.append([int(level), str(title), int(page) - 1, y])
    return entries


def _link(raw: dict[str, Any]) -> dict[str, Any] | None:
    rect = _rect(raw["from"])
    if raw.get("kind") in (pymupdf.LINK_GOTO, pymupdf.LINK_NAMED) and raw.get("page", -1) >= 0:
        to = raw.get("to")
        return {"rect": rect, "page": int(raw["page"]), "y": float(to.y) if to else None}
    if raw.get("kind") == pymupdf.LINK_URI and raw.get("uri"):
        return {"rect": rect, "uri": str(raw["uri"])}
    return None


def _rect(rect: pymupdf.Rect) -> list[float]:
    return [round(rect.x0, 2), round(rect.y0, 2), round(rect.x1, 2), round(rect.y1, 2)]


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    worker = Worker()
    while True:
        frame = protocol.read_frame(stdin)
        if frame is None or frame[0].get("op") == "quit":
            return
        header, payload = frame
        try:
            reply, data = worker.handle(header, payload)
        except Exception as exc:
            reply, data = {**header, "op": "error", "message": _message(exc)}, b""
        stdout.write(protocol.encode(reply, data))
        stdout.flush()


def _message(exc: Exception) -> str:
    # MuPDF's own errors ("code=7: cycle in page tree") in words, shown on the page.
    text = plain_words(exc) if exc.__class__.__module__.startswith("pymupdf") else (
        str(exc) or type(exc).__name__)
    return text if text.endswith(".") else text + "."


def main() -> None:
    # Ctrl+C in the terminal that started Casebook reaches this process too; the window
    # closes on it (gui/shutdown.py) and ends us with "quit" or the closed pipe. Dying
    # on it would print a KeyboardInterrupt traceback and get us restarted meanwhile.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The protocol owns the real stdout. Anything else that prints to fd 1 (a C library,
    # a stray print) would corrupt the frames, so fd 1 becomes stderr from here on.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # Stop quietly when the GUI went away or no longer speaks the protocol.
    with contextlib.suppress(BrokenPipeError, protocol.ProtocolError):
        serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
