"""Syncing from the window: against a site that cannot be reached (a closed port on
this computer: a real failed connection), without a sign-in, and against a real local
HTTP server standing in for WordPress; one run at a time; prompt stop on close; the
start-up and network-back triggers. No part of the core or of HTTP is replaced."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop_app.core.comments import credentials, outbox
from desktop_app.core.packs.signing import SecretKey
from desktop_app.gui.community import sync_worker
from desktop_app.gui.community.sync_worker import SyncWorker
from desktop_app.gui.window.main_window import MainWindow
from desktop_app.paths import AppPaths
from tests.gui.community import (
    CASE,
    PACK,
    PASSWORD,
    closed_port_url,
    library_with_site,
)
from tests.gui.local_site import LocalSite
from tests.gui.windows import open_window
from tests.packfactory import PackFactory

pytestmark = pytest.mark.usefixtures("no_keyring")


@pytest.fixture
def offline_url() -> str:
    return closed_port_url()


@pytest.fixture
def windows(qtbot: QtBot) -> Iterator[list[MainWindow]]:
    """Windows opened by a test, closed (and their sign-ins forgotten) after it."""
    opened: list[MainWindow] = []
    yield opened
    for window in opened:
        window.close()
        for url in sync_worker.pack_sites(window.conn):
            credentials.forget(window.conn, url)
        window.community.worker.join(5)
        window.conn.close()


def open_library_window(qtbot: QtBot, windows: list[MainWindow], paths: AppPaths
                        ) -> MainWindow:
    window = open_window(qtbot, paths)
    windows.append(window)
    return window


def window_on(qtbot: QtBot, windows: list[MainWindow], folder: Path, packs: PackFactory,
              key: SecretKey, site_url: str) -> MainWindow:
    """A window on a library whose pack is discussed on ``site_url``."""
    return open_library_window(qtbot, windows, library_with_site(folder, packs, key, site_url))


def finished_run(qtbot: QtBot, worker: SyncWorker, start: bool = True) -> object:
    with qtbot.waitSignal(worker.finished, timeout=15_000) as blocker:
        if start:
            assert worker.sync_now()
    outcome = blocker.args[0]
    assert not outcome.error, outcome.error
    return outcome


def test_an_unreachable_site_leaves_the_comment_waiting_and_the_status_says_offline(
    qtbot: QtBot, windows: list[MainWindow], tmp_path: Path, packs: PackFactory,
    publisher_key: SecretKey, offline_url: str
) -> None:
    win = window_on(qtbot, windows, tmp_path, packs, publisher_key, offline_url)
    credentials.save(win.conn, offline_url, "reader", PASSWORD)
    comment = outbox.add_comment(win.conn, PACK, CASE, "Sent when we are back online.")
    worker = win.community.worker

    started = time.monotonic()
    with qtbot.waitSignal(worker.finished, timeout=15_000) as blocker:
        win.sync_action.trigger()  # File › Sync comments now (F9)
    took = time.monotonic() - started
    outcome = blocker.args[0]
    # This test failed once (2026-11-25) on an assertion nobody captured: each one now
    # says what it saw, and what the reachability backend reported.
    seen = (f"outcome={outcome!r} took={took:.1f}s watching={worker.watching_network} "
            f"online={worker._online} status={win.community.status.text()!r}")
    assert took < 5, seen
    assert outcome.report.offline == {offline_url}, seen

    assert win.community.status.text() == "1 comment waiting — offline", seen
    kept = outbox.get_comment(win.conn, comment.uuid)
    assert kept.state == "queued" and kept.attempts == 1 and "Cannot reach" in kept.reason, (
        f"{kept!r} {seen}")
    # The next try waits for the backoff (5 s, give or take a quarter): one timer.
    assert worker.timer.isActive() and 0 < worker.timer.remainingTime() <= 6_300, (
        f"active={worker.timer.isActive()} remaining={worker.timer.remainingTime()} {seen}")
    assert not worker.is_running(), seen


def test_the_comment_card_shows_the_last_try_after_an_offline_sync(
    qtbot: QtBot, windows: list[MainWindow], tmp_path: Path, packs: PackFactory,
    publisher_key: SecretKey, offline_url: str
) -> None:
    win = window_on(qtbot, windows, tmp_path, packs, publisher_key, offline_url)
    credentials.save(win.conn, offline_url, "reader", PASSWORD)
    comment = outbox.add_comment(win.conn, PACK, CASE, "Still here.")
    win.open_document(PACK, CASE)
    win.comments_dock.show()
    finished_run(qtbot, win.community.worker)
    panel = win.community.panel
    qtbot.waitUntil(lambda: "next try" in panel.card_for(comment.uuid).state.text())
    assert "Cannot reach" in panel.card_for(comment.uuid).state.text()


def test_without_a_sign_in_the_status_asks_for_one_and_nothing_retries_by_itself(
    qtbot: QtBot, windows: list[MainWindow], tmp_path: Path, packs: PackFactory,
    publisher_key: SecretKey, offline_url: str
) -> None:
    win = window_on(qtbot, windows, tmp_path, packs, publisher_key, offline_url)
    outbox.add_comment(win.conn, PACK, CASE, "Waiting for a sign-in.")
    worker = win.community.worker
    outcome = finished_run(qtbot, worker)

    assert outcome.report.sign_in_needed == {offline_url}
    status = win.community.status
    assert status.text() == "Sign-in needed"
    assert not worker.timer.isActive()  # nothing can change until the reader signs in

    qtbot.mouseClick(status, Qt.MouseButton.LeftButton)
    dialog = win.community.sign_in_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.site.currentText() == offline_url


def test_a_comment_reaches_the_site_and_shows_awaiting_moderation(
    qtbot: QtBot, windows: list[MainWindow], tmp_path: Path, packs: PackFactory,
    publisher_key: SecretKey, site: LocalSite
) -> None:
    win = window_on(qtbot, windows, tmp_path, packs, publisher_key, site.url)
    credentials.save(win.conn, site.url, "reader", PASSWORD)
    comment = outbox.add_comment(win.conn, PACK, CASE, "Hello from Casebook.")
    win.open_document(PACK, CASE)
    win.comments_dock.show()

    outcome = finished_run(qtbot, win.community.worker)

    assert (outcome.report.held, outcome.report.offline) == (1, set())
    assert len(site.posts()) == 1
    assert outbox.get_comment(win.conn, comment.uuid).state == "held"
    panel = win.community.panel
    qtbot.waitUntil(lambda: panel.card_for(comment.uuid) is not None
                    and panel.card_for(comment.uuid).state.text() == "Awaiting moderation")
    assert win.community.status.text().startswith("All sent just now")
    assert "Last brought down: " in panel.fetched.text() and "never" not in panel.fetched.text()


def test_sync_now_during_a_run_does_not_start_a_second(
    qtbot: QtBot, windows: list[MainWindow], tmp_path: Path, packs: PackFactory,
    publisher_key: SecretKey, site: LocalSite
) -> None:
    win = window_on(qtbot, windows, tmp_path, packs, publisher_key, site.url)
    credentials.save(win.conn, site.url, "reader", PASSWORD)
    outbox.add_comment(win.conn, PACK, CASE, "Only once, please.")
    worker = win.community.worker
    site.gate.clear()  # the site holds every request until the gate opens
    try:
        assert worker.sync_now()
        qtbot.waitUntil(lambda: len(site.posts()) == 1)
        assert worker.is_running()
        assert win.community.status.text() == "Sending…"

        with qtbot.assertNotEmitted(worker.started):
            win.sync_action.trigger()
            qtbot.keyClick(win, Qt.Key.Key_F9)
        assert "already" in win.statusBar().currentMessage()
        with qtbot.waitSignal(worker.finished, timeout=15_000):
            site.gate.set()
    finally:
        site.gate.set()
    assert len(site.posts()) == 1
    assert outbox.list_comments(win.conn)[0].state == "held"


def test_closing_the_window_stops_the_worker_promptly_and_loses_nothing(
    qtbot: QtBot, windows: list[MainWindow], tmp_path: Path, packs: PackFactory,
    publisher_key: SecretKey, site: LocalSite
) -> None:
    win = window_on(qtbot, windows, tmp_path, packs, publisher_key, site.url)
    credentials.save(win.conn, site.url, "reader", PASSWORD)
    comment = outbox.add_comment(win.conn, PACK, CASE, "Sent as the window closed.")
    worker = win.community.worker
    site.gate.clear()
    try:
        assert worker.sync_now()
        qtbot.waitUntil(lambda: len(site.posts()) == 1)
        started = time.monotonic()
        win.close()
        assert time.monotonic() - started < sync_worker.STOP_WAIT_SECONDS + 1
    finally:
        site.gate.set()
    # The request on the wire completes and is recorded; then the thread ends
    # without starting anything else (no thread fetch after the stop).
    assert worker.join(10)
    assert outbox.get_comment(win.conn, comment.uuid).state == "held"
    assert [r for r in site.requests if r[0] == "GET"] == []


def test_closing_an_idle_window_ends_the_thread_at_once(
    qtbot: QtBot, windows: list[MainWindow], tmp_path: Path, packs: PackFactory,
    publisher_key: SecretKey, offline_url: str
) -> None:
    win = window_on(qtbot, windows, tmp_path, packs, publisher_key, offline_url)
    finished_run(qtbot, win.community.worker)  # the thread and its connection exist now
    started = time.monotonic()
    win.close()
    assert win.community.worker.join(0)
    assert time.monotonic() - started < 1


def test_the_window_syncs_soon_after_opening_when_comments_wait(
    qtbot: QtBot, windows: list[MainWindow], tmp_path: Path, packs: PackFactory,
    publisher_key: SecretKey, offline_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = library_with_site(tmp_path, packs, publisher_key, offline_url)
    first = open_library_window(qtbot, windows, paths)
    assert not first.community.worker.timer.isActive()  # nothing in use: no request at all
    credentials.save(first.conn, offline_url, "reader", PASSWORD)
    outbox.add_comment(first.conn, PACK, CASE, "Queued yesterday.")
    first.close()

    monkeypatch.setattr(sync_worker, "STARTUP_DELAY_MS", 50)
    win = open_library_window(qtbot, windows, paths)
    worker = win.community.worker
    assert worker.timer.isActive()
    finished_run(qtbot, worker, start=False)
    assert win.community.status.text() == "1 comment waiting — offline"


def test_the_network_coming_back_starts_a_sync(
    qtbot: QtBot, windows: list[MainWindow], tmp_path: Path, packs: PackFactory,
    publisher_key: SecretKey, offline_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtNetwork import QNetworkInformation

    monkeypatch.setattr(sync_worker, "NETWORK_BACK_MS", 50)
    win = window_on(qtbot, windows, tmp_path, packs, publisher_key, offline_url)
    info = QNetworkInformation.instance()
    if info is None:
        pytest.skip("no network information backend on this system")
    credentials.save(win.conn, offline_url, "reader", PASSWORD)
    outbox.add_comment(win.conn, PACK, CASE, "Sent when the network is back.")
    worker = win.community.worker
    qtbot.waitUntil(lambda: worker.watching_network)  # set up after the first frame
    # What the system's backend reports when the network goes and comes back.
    info.reachabilityChanged.emit(QNetworkInformation.Reachability.Disconnected)
    assert not worker.timer.isActive()
    info.reachabilityChanged.emit(QNetworkInformation.Reachability.Online)
    assert worker.timer.isActive()
    finished_run(qtbot, worker, start=False)
