"""File › Check for pack updates against a publisher's catalogue on a real HTTP server
on 127.0.0.1: the library marks the pack, and Install pack updates brings the new
version in through a child process, as a file import would."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from desktop_app.core.library import open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.core.packs.signing import generate_key
from desktop_app.core.packs.trust import trust_key
from desktop_app.paths import AppPaths
from tests.gui.windows import open_window
from tests.packfactory import PackFactory

PACK = "org.example.sample"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def publisher(tmp_path: Path, paths: AppPaths, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[str]:
    """A publisher's folder on 127.0.0.1 offering 1.1.0 of a pack whose 1.0.0 is installed."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "site"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet,
                                                                     directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    key = generate_key("Update Publisher")
    factory = PackFactory(tmp_path / "packs", key)
    built = {}
    for version in ("1.0.0", "1.1.0"):
        spec = factory.spec(version=version)
        spec.fields["catalogue"] = f"{base}/catalogue.json"
        built[version] = factory.write(spec)
    conn = open_library(paths.store_file)
    trust_key(conn, key.public)
    install_pack(conn, built["1.0.0"])
    conn.close()
    newer = built["1.1.0"]
    (folder / newer.name).write_bytes(newer.read_bytes())
    (folder / "catalogue.json").write_text(json.dumps({
        "format": 1, "publisher": "Update Publisher", "generated": "2026-11-20",
        "packs": [{"id": PACK, "version": "1.1.0", "title": "Sample guidance",
                   "url": newer.name, "size": newer.stat().st_size,
                   "sha256": hashlib.sha256(newer.read_bytes()).hexdigest()}]}))
    yield base
    server.shutdown()
    server.server_close()


def _pack_item_text(window) -> str:
    items = [window.library.topLevelItem(i) for i in range(window.library.topLevelItemCount())]
    return next(item.text(0) for item in items if "Sample guidance" in item.text(0))


def test_an_update_is_found_marked_and_installed(qtbot: QtBot, paths: AppPaths,
                                                 publisher: str) -> None:
    window = open_window(qtbot, paths)
    try:
        window.check_updates_action.trigger()
        qtbot.waitUntil(lambda: "Update available: 1.1.0" in _pack_item_text(window),
                        timeout=20_000)
        assert "Update available: Sample guidance 1.1.0" in window.statusBar().currentMessage()

        def agree() -> None:
            box = QApplication.activeModalWidget()
            if isinstance(box, QMessageBox):
                assert "1.0.0 → 1.1.0" in box.text()
                box.button(QMessageBox.StandardButton.Yes).click()

        timer = QTimer()
        timer.timeout.connect(agree)
        timer.start(50)
        window.install_updates_action.trigger()
        [job] = window._imports
        timer.stop()
        with qtbot.waitSignal(job.finished, timeout=60_000) as done:
            pass
        assert done.args[0] is True, done.args
        text = _pack_item_text(window)
        assert "1.1.0" in text and "Update available" not in text
    finally:
        window.close()


def test_no_catalogue_means_no_request_and_a_plain_answer(qtbot: QtBot, window) -> None:
    # The sample pack names no catalogue: the check says so without going online.
    assert window.pack_updates.has_catalogue() is False
    with qtbot.waitSignal(window.pack_updates.checked, timeout=10_000) as result:
        window.check_updates_action.trigger()
    assert result.args[0].catalogues_checked == 0
    assert "names an update catalogue" in window.statusBar().currentMessage()
