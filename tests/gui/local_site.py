"""A small WordPress REST stand-in on 127.0.0.1 for window tests: a real HTTP server
(real sockets, real httpx on Casebook's side) answering the few routes Casebook
uses, the way WordPress answers them. ``gate`` holds every request while cleared,
so a test can catch a sync in the middle of a request."""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class LocalSite:
    def __init__(self, users: dict[str, str], display_names: dict[str, str] | None = None,
                 moderate: bool = True) -> None:
        self.users = users  # user -> application password (without spaces)
        self.display_names = display_names or {}
        self.moderate = moderate
        self.gate = threading.Event()
        self.gate.set()
        self.requests: list[tuple[str, str]] = []
        self.comments: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site._handle(self, "GET")

            def do_POST(self) -> None:
                site._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()

    def posts(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] == "POST"]

    # --- the routes -----------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append((method, parts.path))
        self.gate.wait(30)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        user = self._user(handler.headers.get("Authorization", ""))
        route = parts.path.removeprefix("/wp-json")
        if route == "/wp/v2/users/me":
            if user is None:
                return _send(handler, 401, {"code": "rest_not_logged_in",
                                            "message": "You are not currently logged in."})
            return _send(handler, 200, {"id": 1, "name": self.display_names.get(user, user)})
        if route == "/wp/v2/comments" and method == "POST":
            if user is None:
                return _send(handler, 401, {"code": "rest_comment_login_required",
                                            "message": "Sorry, you must be logged in."})
            length = int(handler.headers.get("Content-Length", 0))
            payload = json.loads(handler.rfile.read(length))
            with self._lock:
                comment = {"id": 900 + len(self.comments), "post": int(payload["post"]),
                           "author_name": self.display_names.get(user, user),
                           "author": user, "date_gmt": "2026-11-02T10:00:00",
                           "content": {"raw": payload["content"],
                                       "rendered": f"<p>{payload['content']}</p>"},
                           "status": "hold" if self.moderate else "approved"}
                comment["link"] = f"{self.url}/?p={comment['post']}#comment-{comment['id']}"
                self.comments.append(comment)
            return _send(handler, 201, comment)
        if route == "/wp/v2/comments":
            post = int(query.get("post", 0))
            found = [c for c in self.comments if c["post"] == post and (
                c["status"] == "approved" or (user is not None and c["author"] == user))]
            if "search" in query:
                found = [c for c in found if query["search"] in c["content"]["raw"]]
            else:
                found = [c for c in found if c["status"] == "approved"]
            return _send(handler, 200, found, {"X-WP-Total": str(len(found)),
                                               "X-WP-TotalPages": "1"})
        match = re.fullmatch(r"/wp/v2/comments/(\d+)", route)
        if match:
            found = [c for c in self.comments if c["id"] == int(match[1])]
            if not found:
                return _send(handler, 404, {"code": "rest_comment_invalid_id"})
            return _send(handler, 200, found[0])
        return _send(handler, 404, {"code": "rest_no_route"})

    def _user(self, header: str) -> str | None:
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.users.get(user) == password else None


def _send(handler: BaseHTTPRequestHandler, status: int, body: Any,
          headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=UTF-8")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)
