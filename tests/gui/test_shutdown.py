"""Logging out (SIGTERM), a closed terminal (SIGHUP) or Ctrl+C (SIGINT) close the window
as Quit does: the open document and its place are remembered, the library closed
cleanly. A real window process, signalled for real."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_app.core.library import MY_DOCUMENTS_ID
from desktop_app.core.store import db
from tests.packfactory import make_pdf

STORE = "casebook.sqlite3"


def _query(store: Path, sql: str) -> tuple | None:
    # Closed at once: an open reader would keep the window's close from checkpointing.
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as conn:
        return conn.execute(sql, (MY_DOCUMENTS_ID,) if "?" in sql else ()).fetchone()


def _added(store: Path) -> bool:
    try:
        return store.exists() and _query(
            store, "SELECT count(*) FROM documents WHERE pack_id = ?")[0] == 1
    except sqlite3.Error:
        return False  # the store is still being created


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(("sent", "to_group"), [
    (signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGHUP, False),
    # Ctrl+C in a terminal: every process of the foreground group, the render worker too.
    (signal.SIGINT, True),
])
def test_a_signal_closes_the_window_keeping_the_open_document_and_a_clean_library(
        tmp_path: Path, sent: signal.Signals, to_group: bool) -> None:
    pdf = tmp_path / "minutes.pdf"
    pdf.write_bytes(make_pdf([f"Minutes, page {n + 1}." for n in range(3)]))
    data = tmp_path / "library"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    window = subprocess.Popen([sys.executable, "-m", "desktop_app", "--data-dir", str(data),
                               str(pdf)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=to_group)
    try:
        deadline = time.monotonic() + 30
        while not _added(data / STORE) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _added(data / STORE), "the file never reached the library"
        time.sleep(1.0)  # the window takes the added document into its tab
        if to_group:
            os.killpg(window.pid, sent)
        else:
            window.send_signal(sent)
        code = window.wait(15)
        errors = window.stderr.read().decode(errors="replace")
    finally:
        if window.poll() is None:
            window.kill()
            window.wait()
    assert code == 0, errors
    assert "Traceback" not in errors, errors
    # Closed cleanly: the next start does not check every page of the library.
    assert db._clean_marker_matches(data / STORE)
    state = json.loads(_query(data / STORE,
                              "SELECT value FROM settings WHERE key = 'gui.window'")[0])
    doc_id = _query(data / STORE, "SELECT doc_id FROM documents WHERE pack_id = ?")[0]
    assert [tab["doc"] for tab in state["tabs"]] == [doc_id]
