"""Assertions shared by the tests."""

from __future__ import annotations

import functools
import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pymupdf
import pytest

CONTENT_TABLES = ("packs", "pack_history", "blobs", "documents", "media", "pages",
                  "publisher_keys", "annotations", "annotation_history", "outbox",
                  "site_comments", "site_threads")


def content_fingerprint(conn: sqlite3.Connection) -> dict[str, str]:
    """A hash of every row of every content table, and of the full-text index."""
    result = {}
    for table in CONTENT_TABLES:
        digest = hashlib.sha256()
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
            digest.update(repr(tuple(row)).encode())
        result[table] = digest.hexdigest()
    digest = hashlib.sha256()
    for row in conn.execute("SELECT rowid, text FROM pages_fts ORDER BY rowid"):
        digest.update(repr(tuple(row)).encode())
    result["pages_fts"] = digest.hexdigest()
    return result


def grown(rect: list[float]) -> pymupdf.Rect:
    """Half a point more each side: get_textbox takes characters wholly inside."""
    x0, y0, x1, y1 = rect
    return pymupdf.Rect(x0 - 0.5, y0 - 0.5, x1 + 0.5, y1 + 0.5)


def direct_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy named in the environment must not carry requests to 127.0.0.1."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def served_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` as any static web server would; yields its address (ends in /)."""
    folder.mkdir(parents=True, exist_ok=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def write_catalogue(folder: Path, packs: list[Path], publisher: str, key: Any) -> None:
    """A publisher's folder as ``casebook publish`` leaves it: the packs, a catalogue
    signed with ``key`` (a SecretKey) and the public key beside it."""
    import datetime as dt

    from desktop_app.core.packs.catalogue import build_catalogue, sign_catalogue
    from desktop_app.core.packs.signing import public_key_bytes

    for pack in packs:
        (folder / pack.name).write_bytes(pack.read_bytes())
    data = build_catalogue(packs, publisher, dt.date(2026, 12, 1))
    (folder / "catalogue.json").write_bytes(data)
    (folder / "catalogue.json.sig").write_bytes(sign_catalogue(data, key))
    (folder / "publisher.pub").write_bytes(public_key_bytes(key.public))
