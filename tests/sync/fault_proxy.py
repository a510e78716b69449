"""A real HTTP/1.1 reverse proxy on 127.0.0.1 that misbehaves on command (stdlib only).

Put it between the sync client and the test WordPress::

    with FaultProxy(site.url) as proxy:
        proxy.next("drop_after_forward", match="POST /wp/v2/comments")
        client = make_client(base_url=proxy.url)
        ...

Passing through: the method, the request target (path and query, unchanged), every request
header except hop-by-hop ones (``Authorization`` included), and the body; the response status,
reason, headers (``Set-Cookie``, ``Link``, ``Location``, ``X-WP-Total`` ...) and body. Only
``Host`` is rewritten (to the target). Framing is per hop, as in any proxy: a chunked request or
response is passed on with a ``Content-Length``; the proxy keeps client connections alive
(HTTP/1.1) even though ``php -S`` closes every connection. WordPress's links keep naming its own
``127.0.0.1:PORT``.

Faults (``next(fault, ...)``), applied to the next matching request(s), first queued first:

``drop_after_forward``
    Forward, read WordPress's full response, then close the client connection without sending
    a byte (FIN). The comment landed; the client never learns.
``reset_after_forward``
    The same, but the connection is reset (RST) instead of closed.
``drop_before_forward`` / ``reset_before_forward``
    Read the request, then close (reset) without forwarding: WordPress never sees it.
``delay``
    Forward at once, hold WordPress's response for ``seconds`` (default 5), then send it if
    the client is still there. A client timeout fires while the request has landed.
``delay_before_forward``
    Hold the request ``seconds`` before forwarding it (it may land after a client retry).
``status_NNN`` (``status_500``, ``status_429``, ``status_503``, ...)
    Answer NNN without forwarding, with a WordPress-style JSON error body
    (``{"code", "message", "data": {"status"}}``). ``retry_after`` adds a ``Retry-After``
    header (429 has ``"1"`` unless given); ``body``/``content_type`` replace the body.

``drop_rate(p, seed)`` applies ``drop_after_forward`` to a random fraction ``p`` of the POST
requests that no queued fault claimed (deterministic for a given seed and request order).

Counters: ``seen`` (requests read), ``forwarded`` (got a response from WordPress), ``dropped``
(connections closed or reset on purpose), ``injected`` (synthetic answers), ``delayed``;
``events`` lists every request with the fault applied and the statuses.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import struct
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("drop_after_forward", "reset_after_forward", "drop_before_forward",
          "reset_before_forward", "delay", "delay_before_forward", "status_NNN")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Hop-by-hop headers (RFC 9110 7.6.1) and the framing the proxy redoes itself.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                         "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"})
_NOT_FORWARDED = _HOP_BY_HOP | {"host", "content-length", "expect"}
_MAX_CHUNK_LINE = 65536

_ERROR_BODIES: dict[int, tuple[str, str]] = {
    500: ("internal_server_error",
          "<p>There has been a critical error on this website.</p><p><a href=\"https://"
          "wordpress.org/support/article/faq-troubleshooting/\">Learn more about "
          "troubleshooting WordPress.</a></p>"),
    502: ("bad_gateway", "Bad gateway."),
    503: ("service_unavailable",
          "Briefly unavailable for scheduled maintenance. Check back in a minute."),
    504: ("gateway_timeout", "Gateway timeout."),
    429: ("too_many_requests", "Too many requests. Please try again later."),
}


@dataclass
class _Rule:
    fault: str
    remaining: int | None  # None: until clear()
    method: str | None
    path: str | None
    params: dict[str, Any] = field(default_factory=dict)
    skip: int = 0  # matching requests let through untouched before the fault applies

    def matches(self, method: str, target: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path is None or self.path in target))


@dataclass(frozen=True)
class Event:
    """One request through the proxy."""

    method: str
    target: str
    fault: str | None
    upstream_status: int | None  # WordPress's status, None when not forwarded (or failed)
    status: int | None  # what the client got, None when the connection was dropped


def _check_fault(fault: str) -> None:
    if fault in FAULTS[:-1]:
        return
    if fault.startswith("status_") and fault[7:].isdigit() and 100 <= int(fault[7:]) <= 599:
        return
    raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")


def _parse_match(match: str | None, method: str | None,
                 path: str | None) -> tuple[str | None, str | None]:
    """``match``: "POST", "/wp/v2/comments" or "POST /wp/v2/comments"."""
    if match is not None:
        first, _, rest = match.strip().partition(" ")
        if first.upper() in _METHODS and first.isupper():
            method, path = first, (rest.strip() or None)
        else:
            path = match
    return (method.upper() if method else None), path


class FaultProxy:
    """A reverse proxy in front of ``target_url``; ``.url`` is where clients connect."""

    def __init__(self, target_url: str, *, upstream_timeout: float = 120.0) -> None:
        parsed = urllib.parse.urlsplit(target_url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"FaultProxy needs an http:// target, not {target_url!r}")
        self.target_url = target_url.rstrip("/")
        self._target_host = parsed.hostname
        self._target_port = parsed.port or 80
        self._target_netloc = parsed.netloc
        self._target_prefix = parsed.path.rstrip("/")
        self.upstream_timeout = upstream_timeout
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._random: random.Random | None = None
        self._drop_p = 0.0
        self._drop_method: str | None = "POST"
        self._drop_path: str | None = None
        self._drop_fault = "drop_after_forward"
        self._counts: Counter[str] = Counter()
        self._events: list[Event] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections(wait=2.0)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FaultProxy is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self._target_prefix}"

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"<FaultProxy {where} -> {self.target_url}>"

    # -- commands ------------------------------------------------------------------------------

    def next(self, fault: str, times: int | None = 1, match: str | None = None, *,
             method: str | None = None, path: str | None = None,
             seconds: float | None = None, retry_after: str | int | None = None,
             body: bytes | str | dict[str, Any] | None = None,
             content_type: str | None = None, skip: int = 0) -> None:
        """Queue ``fault`` for the next ``times`` requests that match (None: until clear()).

        ``match``/``method``/``path``: restrict to a method and/or a substring of the request
        target, e.g. ``match="POST /wp/v2/comments"``; ``skip``: let that many matching
        requests through first (``skip=2``: the third one). ``seconds`` is for the delays,
        ``retry_after``, ``body`` and ``content_type`` for ``status_NNN``."""
        _check_fault(fault)
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None)")
        method, path = _parse_match(match, method, path)
        params: dict[str, Any] = {"seconds": 5.0 if seconds is None else float(seconds),
                                  "retry_after": retry_after, "body": body,
                                  "content_type": content_type}
        with self._lock:
            self._rules.append(_Rule(fault, times, method, path, params, skip))

    def drop_rate(self, p: float, seed: int = 0, *, method: str | None = "POST",
                  path: str | None = None, fault: str = "drop_after_forward") -> None:
        """Apply ``fault`` to a random fraction ``p`` of matching requests (0 switches off)."""
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be between 0 and 1")
        _check_fault(fault)
        with self._lock:
            self._drop_p = p
            self._random = random.Random(seed)
            self._drop_method = method.upper() if method else None
            self._drop_path = path
            self._drop_fault = fault

    def clear(self) -> None:
        """Forget queued faults and the drop rate (counters stay)."""
        with self._lock:
            self._rules.clear()
            self._drop_p = 0.0

    def reset_counters(self) -> None:
        with self._lock:
            self._counts.clear()
            self._events.clear()

    @property
    def pending(self) -> int:
        """Queued faults not used up yet (a ``times=None`` fault counts as one)."""
        with self._lock:
            return len(self._rules)

    # -- counters ------------------------------------------------------------------------------

    def _count(self, key: str, event: Event | None = None) -> None:
        with self._lock:
            self._counts[key] += 1
            if event is not None:
                self._events.append(event)

    @property
    def seen(self) -> int:
        return self._counts["seen"]

    @property
    def forwarded(self) -> int:
        return self._counts["forwarded"]

    @property
    def dropped(self) -> int:
        return self._counts["dropped"]

    @property
    def injected(self) -> int:
        return self._counts["injected"]

    @property
    def delayed(self) -> int:
        return self._counts["delayed"]

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {key: self._counts[key] for key in
                    ("seen", "forwarded", "dropped", "injected", "delayed", "upstream_errors")}

    # -- used by the handler -------------------------------------------------------------------

    def _decide(self, method: str, target: str) -> tuple[str | None, dict[str, Any]]:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, target):
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._rules.remove(rule)
                    return rule.fault, rule.params
            if (self._drop_p > 0 and self._random is not None
                    and (self._drop_method is None or self._drop_method == method)
                    and (self._drop_path is None or self._drop_path in target)
                    and self._random.random() < self._drop_p):
                return self._drop_fault, {"seconds": 5.0}
        return None, {}

    def _forward(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
                 send_length: bool) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self._target_host, self._target_port,
                                          timeout=self.upstream_timeout)
        try:
            conn.putrequest(method, self._target_prefix + target, skip_host=True,
                            skip_accept_encoding=True)
            conn.putheader("Host", self._target_netloc)
            for name, value in headers:
                if name.lower() not in _NOT_FORWARDED:
                    conn.putheader(name, value)
            if send_length or body:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.reason, response.getheaders(), data
        finally:
            conn.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 proxy: FaultProxy) -> None:
        self.proxy = proxy
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._idle = threading.Condition(self._connections_lock)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        try:
            super().shutdown_request(request)
        finally:
            with self._connections_lock:
                self._connections.discard(request)
                self._idle.notify_all()

    def close_connections(self, wait: float) -> None:
        with self._connections_lock:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._idle.wait_for(lambda: not self._connections, timeout=wait)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._proxy()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # -- request -------------------------------------------------------------------------------

    def _target(self) -> str:
        target = self.path
        if "://" in target.split("?", 1)[0]:  # absolute-form
            parts = urllib.parse.urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        return target or "/"

    def _read_body(self) -> tuple[bytes, bool]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(_MAX_CHUNK_LINE)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(_MAX_CHUNK_LINE) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks), True
                chunks.append(self._read_exactly(size))
                self.rfile.readline(_MAX_CHUNK_LINE)
        length = self.headers.get("Content-Length")
        if length is None:
            return b"", False
        return self._read_exactly(int(length)), True

    def _read_exactly(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if len(data) != size:
            raise ConnectionError("client closed the connection mid-body")
        return data

    # -- the proxying --------------------------------------------------------------------------

    def _proxy(self) -> None:
        proxy = self.server.proxy
        method, target = self.command, self._target()
        try:
            body, send_length = self._read_body()
        except (ValueError, ConnectionError, OSError):
            self.close_connection = True
            return
        proxy._count("seen")
        fault, params = proxy._decide(method, target)

        if fault in ("drop_before_forward", "reset_before_forward"):
            self._drop(reset=fault.startswith("reset"))
            proxy._count("dropped", Event(method, target, fault, None, None))
            return
        if fault is not None and fault.startswith("status_"):
            status = self._send_synthetic(int(fault[7:]), params, method)
            proxy._count("injected", Event(method, target, fault, None, status))
            return
        if fault == "delay_before_forward":
            proxy._count("delayed")
            if proxy._stopping.wait(params["seconds"]):
                self._drop(reset=False)
                return

        try:
            status, reason, headers, data = proxy._forward(
                method, target, list(self.headers.items()), body, send_length)
        except (OSError, http.client.HTTPException) as exc:
            proxy._count("upstream_errors")
            sent = self._send_synthetic(502, {"body": {
                "code": "bad_gateway", "message": f"FaultProxy: upstream failed: {exc}",
                "data": {"status": 502}}}, method)
            proxy._count("forward_failed", Event(method, target, fault, None, sent))
            return
        proxy._count("forwarded")

        if fault in ("drop_after_forward", "reset_after_forward"):
            self._drop(reset=fault.startswith("reset"))
            proxy._count("dropped", Event(method, target, fault, status, None))
            return
        if fault == "delay":
            proxy._count("delayed")
            if proxy._stopping.wait(params["seconds"]):
                self._drop(reset=False)
                return
        sent_ok = self._send(status, reason, headers, data, method)
        proxy._count("answered", Event(method, target, fault, status,
                                       status if sent_ok else None))

    def _drop(self, *, reset: bool) -> None:
        self.close_connection = True
        if reset:
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()  # RST now, before socketserver's orderly shutdown

    def _send(self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes,
              method: str) -> bool:
        bodyless = status < 200 or status in (204, 304)
        try:
            self.send_response_only(status, reason)
            upstream_length = None
            for name, value in headers:
                lower = name.lower()
                if lower == "content-length":
                    upstream_length = value
                elif lower not in _HOP_BY_HOP:
                    self.send_header(name, value)
            if method == "HEAD":
                if upstream_length is not None:
                    self.send_header("Content-Length", upstream_length)
            elif not bodyless:
                self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if method != "HEAD" and not bodyless:
                self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:
            self.close_connection = True
            return False

    def _send_synthetic(self, status: int, params: dict[str, Any], method: str) -> int:
        body = params.get("body")
        content_type = params.get("content_type")
        if body is None:
            code, message = _ERROR_BODIES.get(
                status, (f"http_{status}", http.client.responses.get(status, "Error")))
            body = {"code": code, "message": message, "data": {"status": status}}
            if status == 500:
                body["additional_errors"] = []
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            content_type = content_type or "application/json; charset=UTF-8"
        else:
            data = body.encode() if isinstance(body, str) else bytes(body)
            content_type = content_type or "text/html; charset=UTF-8"
        headers = [("Content-Type", content_type)]
        retry_after = params.get("retry_after")
        if retry_after is None and status == 429:
            retry_after = "1"
        if retry_after is not None:
            headers.append(("Retry-After", str(retry_after)))
        self._send(status, http.client.responses.get(status, "Error"), headers, data, method)
        return status

