"""The GUI side of the render worker: queues requests, restarts the worker, caches pages.

Every MuPDF call happens in the worker process (``render_worker``). This object lives on
the GUI thread and never waits for the worker: requests are written through QProcess's
buffered, non-blocking pipe, and replies arrive through ``readyReadStandardOutput``.

Only one request is with the worker at a time. The rest wait in queues that newer
requests can prune (``request_pages`` replaces a document's pending renders), so fast
scrolling renders the pages now on screen rather than every page scrolled past.
A request that takes longer than ``timeout`` seconds, or a worker that dies, gets the
worker killed and restarted; its open documents are opened again and the request to
blame is answered with ``render_failed`` and never retried.
"""

from __future__ import annotations

import logging
import math
import os
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QProcess,
    QProcessEnvironment,
    QTimer,
    Signal,
)
from PySide6.QtGui import QImage

from desktop_app.__main__ import render_worker_command
from desktop_app.gui.reader.pdf.image_cache import DEFAULT_LIMIT, ImageCache
from desktop_app.render import protocol
from desktop_app.render.model import PdfInfo
from desktop_app.render.page_text import PageText, decode_boxes
from desktop_app.render.pixel_buffer import ENV as PIXEL_ENV
from desktop_app.render.pixel_buffer import PixelBuffer

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
# A worker that cannot even start (or dies at once) this many times in a row is not
# going to get better: stop restarting it and fail requests at once.
MAX_FAILED_STARTS = 3
# A long document's full description waits at most this long for its first page.
DESCRIBE_AFTER_MS = 250
# Pages whose characters are kept. A page's text and boxes are ~20 bytes a character;
# a few hundred pages is a few MB, and pages come back in milliseconds if dropped.
TEXT_CACHE_PAGES = 300


@dataclass
class _Request:
    op: str  # "open", "describe", "render", "search", "chars", "close"
    doc: str
    page: int = -1
    scale: float = 0.0
    text: str = ""
    dpr: float = 1.0
    payload: bytes = b""
    path: str = ""  # an open of a file the worker reads itself, instead of ``payload``
    reopen: bool = False  # opening again after a restart: the views already know the info
    prefetch: bool = False  # characters asked for ahead of need: newer prefetches replace it
    draw_scale: float = 0.0  # what the worker renders at, if less than ``scale``
    id: int = 0

    def header(self) -> dict:
        header = {"op": self.op, "id": self.id, "doc": self.doc}
        if self.op in ("render", "search", "chars"):
            header["page"] = self.page
        if self.op == "render":
            header["scale"] = self.draw_scale or self.scale
        if self.op == "search":
            header["text"] = self.text
        if self.path:
            header["path"] = self.path
        return header

    @property
    def source(self) -> bytes | Path:
        return Path(self.path) if self.path else self.payload


class RenderService(QObject):
    """Renders, searches and describes PDFs in a worker process, for any number of views.

    Documents are identified by ``doc_key``; one view per key (a view's ``request_pages``
    supersedes the pending renders of its key).
    """

    opened = Signal(str, object)  # doc_key, PdfInfo (provisional for a long document)
    described = Signal(str, object)  # doc_key, the full PdfInfo after a provisional one
    open_failed = Signal(str, str)  # doc_key, message for the user
    rendered = Signal(str, int, float, QImage)  # doc_key, page, scale, image
    render_failed = Signal(str, int, str)  # doc_key, page, message for the user
    # doc_key, page, text, [(x0, y0, x1, y1) per hit], [(start, end) per hit]
    found = Signal(str, int, str, object, object)
    chars_ready = Signal(str, int, object)  # doc_key, page, PageText (empty if it failed)
    worker_restarted = Signal(str)  # why

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cache_bytes: int = DEFAULT_LIMIT,
        worker_command: list[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.timeout = timeout
        self.cache = ImageCache(cache_bytes)
        # Frozen builds start their ``casebook-render`` program (no ``-m`` there).
        self._command = worker_command or render_worker_command()
        # Open in the worker, by bytes or file: kept to reopen after a restart.
        self._docs: dict[str, bytes | Path] = {}
        self._infos: dict[str, PdfInfo] = {}
        self._users: dict[str, int] = {}
        self._failed: dict[tuple[str, int], str] = {}
        self._control: deque[_Request] = deque()  # opens and closes, first come first served
        self._renders: OrderedDict[tuple[str, int, float], _Request] = OrderedDict()
        self._searches: deque[_Request] = deque()
        # Full descriptions owed after provisional opens: after the pages on screen.
        self._describes: deque[_Request] = deque()
        self._undescribable: set[str] = set()  # the worker died describing these
        self._describe_after_render: set[str] = set()
        self._char_requests: OrderedDict[tuple[str, int], _Request] = OrderedDict()
        self._texts: OrderedDict[tuple[str, int], PageText] = OrderedDict()
        self._in_flight: _Request | None = None
        self._next_id = 1
        self._proc: QProcess | None = None
        self._frames = protocol.FrameBuffer()
        self._ready = False
        self._closing = False
        self._failed_starts = 0
        self._got_reply = False
        self._broken: str | None = None
        self._restarts = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._timed_out)
        self._pixels = PixelBuffer.create()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close)
        self._start_worker()

    # -- public API ---------------------------------------------------------------------

    def open_document(self, doc_key: str, source: bytes | Path) -> None:
        """Open a document, from its bytes or from a file the worker reads itself (the
        GUI thread then reads nothing); answers with ``opened`` or ``open_failed``.

        Each call must be matched by one ``close_document``: a key opened twice with the
        same source (a view made again before the old one is gone, or a view taking
        over a document opened at start-up) is opened once.
        """
        self._users[doc_key] = self._users.get(doc_key, 0) + 1
        if self._docs.get(doc_key) == source and doc_key in self._infos:
            # Already open: answer without the worker, but later, as the worker would,
            # so callers can connect after calling.
            QTimer.singleShot(0, self, partial(self._reannounce, doc_key))
            return
        if any(r.op == "open" and r.doc == doc_key and r.source == source
               for r in (*self._control, self._in_flight) if r is not None):
            return  # on its way: its ``opened`` answers this caller too
        self._forget(doc_key)
        self._control.append(_open_request(doc_key, source))
        self._pump()

    def send_now(self) -> None:
        """Hand what is queued to the worker without waiting for the event loop.

        For start-up only: the document given on the command line is opened while the
        window's own modules are still loading, and they take longer than the worker
        needs to start. Blocks for the worker's exec (milliseconds), not for its answer.
        """
        proc = self._proc
        if proc is None or not proc.waitForStarted(2000):
            return
        self._ready = True
        self._pump()
        proc.waitForBytesWritten(100)

    def close_document(self, doc_key: str) -> None:
        """Release a document; when its last user releases it, drop its pending requests,
        cached pages and the worker's copy."""
        users = self._users.get(doc_key, 0) - 1
        if users > 0:
            self._users[doc_key] = users
            return
        self._users.pop(doc_key, None)
        was_open = doc_key in self._docs
        self._forget(doc_key)
        self._control = deque(r for r in self._control if r.doc != doc_key)
        if was_open:
            self._control.append(_Request("close", doc_key))
            self._pump()

    def info(self, doc_key: str) -> PdfInfo | None:
        return self._infos.get(doc_key)

    def request_pages(
        self, doc_key: str, pages: list[int], scale: float, device_pixel_ratio: float = 1.0
    ) -> None:
        """Render these pages, in this order, replacing the document's pending renders.

        Pages already cached at ``scale`` are skipped; pages that failed before are
        answered with ``render_failed`` again (soon, not during this call).
        """
        scale = round(scale, 4)
        for key in [key for key in self._renders if key[0] == doc_key]:
            del self._renders[key]
        flying = self._in_flight
        for page in pages:
            key = (doc_key, page, scale)
            if key in self.cache:
                continue
            message = self._failed.get((doc_key, page)) or self._broken
            if message:
                QTimer.singleShot(0, self, partial(self._refail, doc_key, page, message))
                continue
            if flying and (flying.op, flying.doc, flying.page, flying.scale) == ("render", *key):
                continue
            self._renders[key] = _Request("render", doc_key, page, scale,
                                          dpr=device_pixel_ratio,
                                          draw_scale=self._fitting_scale(doc_key, page, scale))
        self._pump()

    def _fitting_scale(self, doc_key: str, page: int, scale: float) -> float:
        """``scale``, or less if the image would not fit in half the cache.

        An image bigger than the cache is never stored, and the view paints only cached
        images: such a page (an enormous page, or A4 at 400 % on a high-DPI screen, 72 MB
        against a 64 MB cache) stayed a placeholder forever, re-rendered on every scroll.
        Drawn smaller, it is cached under the scale asked for and shown stretched.
        """
        info = self._infos.get(doc_key)
        if info is None or not 0 <= page < len(info.sizes):
            return scale
        width, height = info.sizes[page]
        # RGB888: 3 bytes a pixel, rows padded to 4 bytes; half the cache, so the pages
        # either side of it stay cached too.
        budget = self.cache.limit_bytes / 2 / 3.1
        if width * height * scale * scale <= budget or width * height <= 0:
            return scale
        return math.sqrt(budget / (width * height))

    def search(self, doc_key: str, page: int, text: str) -> None:
        """Find ``text`` on one page; answers with ``found`` (an empty list for no hits)."""
        self._searches.append(_Request("search", doc_key, page, text=text))
        self._pump()

    def request_chars(self, doc_key: str, page: int, *, prefetch: bool = False) -> None:
        """Fetch a page's characters and boxes; answers with ``chars_ready`` unless they
        are cached already (``page_text``) or on their way."""
        key = (doc_key, page)
        flying = self._in_flight
        if key in self._texts or (
                flying is not None and (flying.op, flying.doc, flying.page) == ("chars", *key)):
            return
        waiting = self._char_requests.get(key)
        if waiting is not None:
            waiting.prefetch = waiting.prefetch and prefetch  # needed now: keep it queued
            return
        self._char_requests[key] = _Request("chars", doc_key, page, prefetch=prefetch)
        self._pump()

    def prefetch_chars(self, doc_key: str, pages: list[int]) -> None:
        """Like ``request_chars`` for the pages on screen: replaces the document's earlier
        prefetches still waiting, so scrolling fast does not queue every page passed."""
        for key in [key for key, r in self._char_requests.items()
                    if key[0] == doc_key and r.prefetch]:
            del self._char_requests[key]
        for page in pages:
            self.request_chars(doc_key, page, prefetch=True)

    def page_text(self, doc_key: str, page: int) -> PageText | None:
        """A page's characters if they are cached (an empty PageText if they failed)."""
        text = self._texts.get((doc_key, page))
        if text is not None:
            self._texts.move_to_end((doc_key, page))
        return text

    def cancel_searches(self, doc_key: str) -> None:
        self._searches = deque(r for r in self._searches if r.doc != doc_key)

    def cached(self, doc_key: str, page: int, scale: float) -> QImage | None:
        return self.cache.get((doc_key, page, round(scale, 4)))

    def nearest_cached(self, doc_key: str, page: int, scale: float) -> QImage | None:
        return self.cache.any_scale(doc_key, page, round(scale, 4))

    def worker_pid(self) -> int:
        return int(self._proc.processId()) if self._proc is not None else 0

    def restarts(self) -> int:
        return self._restarts

    def is_idle(self) -> bool:
        return (self._in_flight is None and not self._control and not self._renders
                and not self._describes and not self._char_requests and not self._searches)

    def close(self) -> None:
        """Stop the worker. Called at application exit; the service is unusable after."""
        if self._closing:
            return
        self._closing = True
        self._timer.stop()
        proc, self._proc = self._proc, None
        try:
            if proc is None:
                return
            if self._in_flight is None and proc.state() == QProcess.ProcessState.Running:
                proc.write(protocol.encode({"op": "quit"}))
                proc.closeWriteChannel()
                # Bounded, and only at exit: an idle worker quits in milliseconds.
                if proc.waitForFinished(500):
                    return
            proc.kill()
            proc.waitForFinished(1000)
        finally:
            if self._pixels is not None:  # after the worker: it may still be writing
                self._pixels.close()
                self._pixels = None

    # -- the worker process -------------------------------------------------------------

    def _start_worker(self) -> None:
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        # Let ``-m`` find this package when it is run from a source tree.
        root = str(Path(__file__).resolve().parents[3])
        path = env.value("PYTHONPATH", "")
        env.insert("PYTHONPATH", root + (os.pathsep + path if path else ""))
        if self._pixels is not None:
            env.insert(PIXEL_ENV, str(self._pixels.path))
        proc.setProcessEnvironment(env)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.ForwardedErrorChannel)
        proc.started.connect(partial(self._on_started, proc))
        proc.readyReadStandardOutput.connect(partial(self._on_output, proc))
        proc.finished.connect(partial(self._on_finished, proc))
        proc.errorOccurred.connect(partial(self._on_error, proc))
        self._proc, self._ready, self._got_reply = proc, False, False
        self._frames = protocol.FrameBuffer()
        proc.start(self._command[0], self._command[1:])

    def _on_started(self, proc: QProcess) -> None:
        if proc is self._proc:
            self._ready = True
            self._pump()

    def _on_error(self, proc: QProcess, error: QProcess.ProcessError) -> None:
        if proc is self._proc and error == QProcess.ProcessError.FailedToStart:
            self._worker_lost(f"the renderer could not start ({proc.errorString()})")

    def _on_finished(self, proc: QProcess, code: int, status: QProcess.ExitStatus) -> None:
        if proc is self._proc and not self._closing:
            how = "crashed" if status == QProcess.ExitStatus.CrashExit else f"exited ({code})"
            self._worker_lost(f"the renderer {how}")

    def _timed_out(self) -> None:
        if self._in_flight is not None:
            self._worker_lost(f"a request took longer than {self.timeout:g} seconds",
                              timed_out=True)

    def _worker_lost(self, reason: str, *, timed_out: bool = False) -> None:
        """Kill what is left of the worker, answer the request to blame, start afresh."""
        log.warning("PDF render worker restarted: %s", reason)
        self._timer.stop()
        old, self._proc = self._proc, None
        if old is not None:
            # Its handlers ignore it from now on (they check ``proc is self._proc``).
            if old.state() != QProcess.ProcessState.NotRunning:
                old.finished.connect(old.deleteLater)  # reaped when it is gone, not waited for
                old.kill()
            else:
                old.deleteLater()
        blamed, self._in_flight = self._in_flight, None
        if blamed is not None:
            self._blame(blamed, timed_out)
        # A worker that died before answering anything, with nothing to blame, may be
        # unable to start at all; count those, so a broken install does not loop forever.
        self._failed_starts = 0 if blamed is not None or self._got_reply else (
            self._failed_starts + 1)
        if self._failed_starts >= MAX_FAILED_STARTS:
            self._give_up(reason)
            return
        # Documents the worker had are opened again first, before anything else is sent.
        reopen = [_open_request(key, source, reopen=True) for key, source in self._docs.items()]
        self._control.extendleft(reversed(reopen))
        self._restarts += 1
        self._start_worker()
        self.worker_restarted.emit(reason)

    def _blame(self, request: _Request, timed_out: bool) -> None:
        if request.op == "render":
            message = ("This page took too long to draw and was skipped." if timed_out
                       else "This page could not be drawn: the PDF renderer stopped on it.")
            self._failed[(request.doc, request.page)] = message
            self.render_failed.emit(request.doc, request.page, message)
        elif request.op == "search":
            self.found.emit(request.doc, request.page, request.text, [], [])
        elif request.op == "chars":
            self._store_text(request, PageText.empty())  # kept: asking again would crash again
        elif request.op == "describe":
            self._undescribable.add(request.doc)  # it stays provisional: readable, no outline
        elif request.op == "open":
            self._forget(request.doc)
            message = ("This PDF took too long to open." if timed_out
                       else "This PDF could not be opened: the PDF renderer stopped on it.")
            self.open_failed.emit(request.doc, message)

    def _give_up(self, reason: str) -> None:
        self._broken = f"PDF pages cannot be shown: {reason}."
        log.error("PDF render worker given up: %s", reason)
        control, self._control = list(self._control), deque()
        for request in control:
            if request.op == "open":
                self.open_failed.emit(request.doc, self._broken)
        self._describes.clear()
        renders, self._renders = list(self._renders.values()), OrderedDict()
        for request in renders:
            self.render_failed.emit(request.doc, request.page, self._broken)
        chars, self._char_requests = list(self._char_requests.values()), OrderedDict()
        for request in chars:
            self.chars_ready.emit(request.doc, request.page, PageText.empty())
        searches, self._searches = list(self._searches), deque()
        for request in searches:
            self.found.emit(request.doc, request.page, request.text, [], [])

    # -- requests and replies -----------------------------------------------------------

    def _pump(self) -> None:
        """Send the next request if the worker is free. Opens and closes go first, then
        renders (what the user is looking at), then characters (for selecting what is on
        screen), then searches."""
        if self._in_flight is not None or not self._ready or self._proc is None:
            return
        request = self._next_request()
        if request is None:
            return
        request.id, self._next_id = self._next_id, self._next_id + 1
        self._in_flight = request
        self._proc.write(protocol.encode(request.header(), request.payload))
        self._timer.start(max(1, int(self.timeout * 1000)))

    def _next_request(self) -> _Request | None:
        if self._control:
            return self._control.popleft()
        while self._renders:
            key, request = self._renders.popitem(last=False)
            if request.doc in self._docs and key not in self.cache:
                return request
        while self._describes:
            request = self._describes.popleft()
            if request.doc in self._docs:
                return request
        while self._char_requests:
            _, request = self._char_requests.popitem(last=False)
            if request.doc in self._docs:
                return request
        while self._searches:
            request = self._searches.popleft()
            if request.doc in self._docs:
                return request
            self.found.emit(request.doc, request.page, request.text, [], [])
        return None

    def _on_output(self, proc: QProcess) -> None:
        if proc is not self._proc:
            return
        try:
            frames = self._frames.feed(bytes(proc.readAllStandardOutput().data()))
        except protocol.ProtocolError as exc:
            self._worker_lost(f"the renderer sent a damaged reply ({exc})")
            return
        for header, payload in frames:
            request = self._in_flight
            if request is None or header.get("id") != request.id:
                continue  # nothing asked for this; cannot happen with one request at a time
            self._timer.stop()
            self._in_flight = None
            self._got_reply = True
            self._dispatch(request, header, payload)
        self._pump()

    def _dispatch(self, request: _Request, header: dict, payload: bytes) -> None:
        op = header.get("op")
        if request.op == "open":
            if op == "opened":
                self._docs[request.doc] = request.source
                info = PdfInfo.from_json(header["info"])
                known = self._infos.get(request.doc) if request.reopen else None
                if known is None:
                    self._infos[request.doc] = info
                if request.reopen:
                    self._queue_describe(request.doc)
                elif info.provisional:
                    # Described once the page the view asks for first is drawn (its
                    # request comes a moment after this signal), or soon regardless.
                    self._describe_after_render.add(request.doc)
                    QTimer.singleShot(DESCRIBE_AFTER_MS, self,
                                      partial(self._queue_describe, request.doc))
                if not request.reopen:
                    self.opened.emit(request.doc, info)
            else:
                self._forget(request.doc)
                self.open_failed.emit(request.doc, str(header.get("message", "")))
        elif request.op == "describe":
            if request.doc in self._docs and op == "described":
                info = PdfInfo.from_json(header["info"])
                self._infos[request.doc] = info
                self.described.emit(request.doc, info)
            elif op != "described":
                log.warning("Describing a PDF failed: %s", header.get("message"))
                self._undescribable.add(request.doc)
        elif request.op == "render":
            if request.doc not in self._docs:
                return  # closed while it rendered
            if request.doc in self._describe_after_render:
                self._queue_describe(request.doc)
            shared = int(header.get("shared", 0)) if op == "rendered" else 0
            if shared and self._pixels is not None:
                payload = self._pixels.read(shared)
            image = _to_image(header, payload) if op == "rendered" else None
            if shared and self._pixels is not None:
                self._pixels.release(shared)
            if image is not None:
                image.setDevicePixelRatio(request.dpr)
                self.cache.put((request.doc, request.page, request.scale), image)
                self.rendered.emit(request.doc, request.page, request.scale, image)
            else:
                message = f"This page could not be drawn: {header.get('message', 'no image')}"
                self._failed[(request.doc, request.page)] = message
                self.render_failed.emit(request.doc, request.page, message)
        elif request.op == "search":
            rects = [tuple(r) for r in header.get("rects", ())] if op == "found" else []
            spans = [tuple(s) for s in header.get("spans", ())] if op == "found" else []
            self.found.emit(request.doc, request.page, request.text, rects, spans)
        elif request.op == "chars" and request.doc in self._docs:
            self._store_text(request, _to_page_text(header, payload) if op == "chars"
                             else PageText.empty())

    def _store_text(self, request: _Request, text: PageText) -> None:
        self._texts[(request.doc, request.page)] = text
        while len(self._texts) > TEXT_CACHE_PAGES:
            self._texts.popitem(last=False)
        self.chars_ready.emit(request.doc, request.page, text)

    def _forget(self, doc_key: str) -> None:
        self._docs.pop(doc_key, None)
        self._infos.pop(doc_key, None)
        self.cache.drop_document(doc_key)
        self._failed = {k: v for k, v in self._failed.items() if k[0] != doc_key}
        for key in [key for key in self._renders if key[0] == doc_key]:
            del self._renders[key]
        self.cancel_searches(doc_key)
        self._describes = deque(r for r in self._describes if r.doc != doc_key)
        self._undescribable.discard(doc_key)
        self._describe_after_render.discard(doc_key)
        for table in (self._texts, self._char_requests):
            for key in [key for key in table if key[0] == doc_key]:
                del table[key]

    def _queue_describe(self, doc_key: str) -> None:
        self._describe_after_render.discard(doc_key)
        info = self._infos.get(doc_key)
        if (info is not None and info.provisional and doc_key not in self._undescribable
                and all(r.doc != doc_key for r in self._describes)
                and not (self._in_flight and self._in_flight.op == "describe"
                         and self._in_flight.doc == doc_key)):
            self._describes.append(_Request("describe", doc_key))
            QTimer.singleShot(0, self, self._pump)  # not from inside a reply's dispatch

    def _reannounce(self, doc_key: str) -> None:
        info = self._infos.get(doc_key)
        if info is not None:
            self.opened.emit(doc_key, info)

    def _refail(self, doc_key: str, page: int, message: str) -> None:
        self.render_failed.emit(doc_key, page, message)


def _open_request(doc_key: str, source: bytes | Path, *, reopen: bool = False) -> _Request:
    if isinstance(source, Path):
        return _Request("open", doc_key, path=str(source), reopen=reopen)
    return _Request("open", doc_key, payload=source, reopen=reopen)


def _to_page_text(header: dict, payload: bytes) -> PageText:
    text, boxes = str(header.get("text", "")), decode_boxes(payload)
    if len(boxes) != len(text):  # cannot happen with our worker; never index past the end
        return PageText.empty()
    breaks = tuple(int(b) for b in header.get("breaks", ()))
    return PageText(text, tuple(boxes), bool(header.get("exact", True)), breaks)


def _to_image(header: dict, payload: bytes | memoryview) -> QImage | None:
    width, height, stride = int(header["width"]), int(header["height"]), int(header["stride"])
    if width <= 0 or height <= 0 or len(payload) < stride * height or stride < width * 3:
        return None
    # copy(): the QImage must own its pixels, not borrow the payload's buffer.
    return QImage(payload, width, height, stride, QImage.Format.Format_RGB888).copy()

