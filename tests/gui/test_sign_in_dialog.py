"""File › Sign in to community site…: the check runs off the GUI thread against a
real (local) site, the site's answer is shown, the password is saved only when the
site accepts it and never appears anywhere on screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from desktop_app.core.comments import credentials, outbox
from desktop_app.core.packs.signing import SecretKey
from desktop_app.gui.community.sign_in_dialog import SignInDialog
from desktop_app.gui.window.main_window import MainWindow
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
def win(qtbot: QtBot, tmp_path: Path, packs: PackFactory, publisher_key: SecretKey,
        site: LocalSite) -> Iterator[MainWindow]:
    window = open_window(qtbot, library_with_site(tmp_path, packs, publisher_key, site.url))
    yield window
    window.close()
    for url in (site.url,):
        credentials.forget(window.conn, url)
    window.community.worker.join(5)
    window.conn.close()


def open_dialog(win: MainWindow) -> SignInDialog:
    win.sign_in_action.trigger()
    dialog = win.community.sign_in_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def check(qtbot: QtBot, dialog: SignInDialog, user: str, password: str) -> str:
    dialog.user.setText(user)
    dialog.password.setText(password)
    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    assert not dialog.check_button.isEnabled()  # asking, off the GUI thread
    qtbot.waitUntil(dialog.check_button.isEnabled, timeout=15_000)
    return dialog.answer.text()


def shown_text(dialog: SignInDialog) -> str:
    return " ".join([label.text() for label in dialog.findChildren(QLabel)]
                    + [field.text() for field in dialog.findChildren(QLineEdit)
                       if field is not dialog.password])


def test_the_site_named_by_the_pack_is_offered(win: MainWindow, site: LocalSite) -> None:
    dialog = open_dialog(win)
    assert dialog.site.currentText() == site.url
    assert dialog.password.echoMode() == QLineEdit.EchoMode.Password


def test_accepted_credentials_are_saved_and_the_waiting_comment_is_sent(
    qtbot: QtBot, win: MainWindow, site: LocalSite
) -> None:
    comment = outbox.add_comment(win.conn, PACK, CASE, "Sent once I signed in.")
    dialog = open_dialog(win)
    with qtbot.waitSignal(win.community.worker.finished, timeout=15_000):
        answer = check(qtbot, dialog, "reader", PASSWORD)

    assert answer.startswith(f"Signed in to {site.url} as Ann Reader.")
    assert "for this session only" in answer  # no keyring on the test machine
    saved = credentials.load(win.conn, site.url)
    assert saved is not None and saved.user == "reader"
    assert dialog.password.text() == ""
    assert PASSWORD not in shown_text(dialog) and PASSWORD.replace(" ", "") not in \
        shown_text(dialog)
    assert outbox.get_comment(win.conn, comment.uuid).state == "held"


def test_a_wrong_password_shows_the_sites_answer_and_saves_nothing(
    qtbot: QtBot, win: MainWindow, site: LocalSite
) -> None:
    dialog = open_dialog(win)
    answer = check(qtbot, dialog, "reader", "wrong password here")
    assert answer.startswith(f"{site.url} did not accept the sign-in: ")
    assert "wrong password here" not in shown_text(dialog)
    assert credentials.signed_in_user(win.conn, site.url) is None


def test_an_unreachable_site_is_reported_and_nothing_is_saved(
    qtbot: QtBot, win: MainWindow
) -> None:
    dialog = open_dialog(win)
    dead = closed_port_url()
    dialog.site.setCurrentText(dead)
    answer = check(qtbot, dialog, "reader", PASSWORD)
    assert "Cannot reach" in answer
    assert credentials.signed_in_user(win.conn, dead) is None


def test_a_plain_http_site_elsewhere_is_warned_about_before_the_password_goes(
    qtbot: QtBot, win: MainWindow
) -> None:
    dialog = open_dialog(win)
    dialog.site.setCurrentText("http://community.invalid")
    dialog.user.setText("reader")
    dialog.password.setText(PASSWORD)
    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    assert "does not use https" in dialog.answer.text()
    assert dialog.check_button.isEnabled()  # nothing was sent: the reader decides


def test_sign_out_forgets_the_sign_in(qtbot: QtBot, win: MainWindow, site: LocalSite) -> None:
    dialog = open_dialog(win)
    with qtbot.waitSignal(win.community.worker.finished, timeout=15_000):
        check(qtbot, dialog, "reader", PASSWORD)
    assert dialog.sign_out_button.isEnabled()
    qtbot.mouseClick(dialog.sign_out_button, Qt.MouseButton.LeftButton)
    assert credentials.load(win.conn, site.url) is None
    assert dialog.answer.text().startswith(f"Signed out of {site.url}")


def test_with_a_keyring_the_password_goes_there_and_never_into_the_library(
    qtbot: QtBot, win: MainWindow, site: LocalSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    # A file keyring in the test's own home folder stands in for the system's.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    backend = PlaintextKeyring()
    assert str(Path.home()) in backend.file_path
    keyring.set_keyring(backend)
    dialog = open_dialog(win)
    with qtbot.waitSignal(win.community.worker.finished, timeout=15_000):
        answer = check(qtbot, dialog, "reader", PASSWORD)
    assert "kept in your system keyring" in answer
    assert credentials.load(win.conn, site.url).user == "reader"
    win.conn.execute("PRAGMA wal_checkpoint(FULL)")
    store = win.paths.store_file
    for path in (store, store.with_name(store.name + "-wal")):
        if path.exists():
            assert PASSWORD.replace(" ", "").encode() not in path.read_bytes()
