"""File › Sign in to community site…: a user name and an application password,
checked with the site (off the GUI thread: it is a network call) before they are
saved, the password in the system keyring where there is one.

The password is never logged, never shown (the field echoes dots) and never part of
a message; the field is emptied once the password is saved.
"""

from __future__ import annotations

import sqlite3
import threading
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.comments import credentials
from desktop_app.core.errors import CasebookError

HELP = ("Use an application password, not the password you sign in to the site with: "
        "on the site, open your profile (Users › Profile) and add one under "
        "“Application passwords”.")
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def clean_url(text: str) -> str:
    return text.strip().rstrip("/")


def url_problem(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ("The site's address must start with https:// (for example "
                "https://community.example.org).")
    return ""


def insecure(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname not in LOOPBACK


class _Answer(QObject):
    """Carries the site's answer from the checking thread (queued to the dialog)."""

    # ok, site url, user, display name or reason, password in the keyring (else session)
    done = Signal(bool, str, str, str, bool)


class SignInDialog(QDialog):
    signed_in = Signal(str)  # site url

    def __init__(self, conn: sqlite3.Connection, sites: list[str], site_url: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._conn = conn
        self._checking = False
        self._insecure_ok = ""  # the http:// address the reader chose to use anyway
        self.setWindowTitle("Sign in to community site")
        self.site = QComboBox(self)
        self.site.setEditable(True)
        self.site.addItems(sites)
        self.site.setCurrentText(site_url or (sites[0] if sites else "https://"))
        self.site.setAccessibleName("Site address")
        self.site.lineEdit().setAccessibleName("Site address")
        self.user = QLineEdit(self)
        self.user.setAccessibleName("User name")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("xxxx xxxx xxxx xxxx xxxx xxxx")
        self.password.setAccessibleName("Application password")
        self.password.setAccessibleDescription(HELP)
        help_label = QLabel(HELP, self)
        help_label.setTextFormat(Qt.TextFormat.PlainText)
        help_label.setWordWrap(True)
        self.answer = QLabel(self)
        self.answer.setTextFormat(Qt.TextFormat.PlainText)
        self.answer.setWordWrap(True)
        self.answer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.answer.setAccessibleName("The site's answer")
        self.check_button = QPushButton("Check and save", self)
        self.check_button.setDefault(True)
        self.check_button.clicked.connect(self.check)
        self.sign_out_button = QPushButton("Sign out", self)
        self.sign_out_button.setToolTip("Forget the user name and password for this site")
        self.sign_out_button.clicked.connect(self.sign_out)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.addButton(self.sign_out_button, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.addButton(self.check_button, QDialogButtonBox.ButtonRole.ActionRole)
        form = QFormLayout()
        form.addRow("Site:", self.site)
        form.addRow("User name:", self.user)
        form.addRow("Application password:", self.password)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(help_label)
        layout.addWidget(self.answer)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)
        # Parentless, referenced by the thread too: it may answer after the dialog closed.
        self._bridge = _Answer()
        self._bridge.done.connect(self._answered)
        self.site.currentTextChanged.connect(self._site_changed)
        self._site_changed(self.site.currentText())

    def _site_changed(self, text: str) -> None:
        url = clean_url(text)
        user = credentials.signed_in_user(self._conn, url) if url else None
        self.sign_out_button.setEnabled(bool(user) and not self._checking)
        if user:
            self.user.setText(user)
            self.answer.setText(f"Signed in to {url} as {user}. Give the password again to "
                                "change it.")
        elif not self._checking:
            self.answer.setText("")

    def check(self) -> None:
        """Ask the site whether it accepts the user name and password; save them if so."""
        if self._checking:
            return
        url, user, password = clean_url(self.site.currentText()), self.user.text().strip(), \
            self.password.text()
        problem = url_problem(url) or ("" if user else "Give your user name on the site.") \
            or ("" if password.strip() else "Give the application password.")
        if problem:
            self.answer.setText(problem)
            return
        if insecure(url) and self._insecure_ok != url:
            self._insecure_ok = url
            self.answer.setText("This site does not use https: your password would cross the "
                                "network unencrypted. Press Check and save again to send it "
                                "anyway.")
            return
        self._set_checking(True)
        self.answer.setText(f"Asking {url}…")
        bridge = self._bridge

        def ask() -> None:
            from desktop_app.core.comments.sites import check_sign_in  # httpx: when used
            from desktop_app.core.comments.wordpress import SiteAnswerError

            try:
                name = check_sign_in(url, user, password)
            except SiteAnswerError as exc:
                bridge.done.emit(False, url, user, f"{url} did not accept the sign-in: "
                                 f"{_without(exc.outcome.reason, password)}", False)
            except Exception as exc:  # a malformed address, a broken proxy...
                bridge.done.emit(False, url, user, f"Could not ask {url}: "
                                 f"{_without(str(exc) or type(exc).__name__, password)}", False)
            else:
                # Keyring calls can wait on an unlock prompt: here, not on the GUI thread.
                in_keyring = credentials.store_password(url, user, password)
                bridge.done.emit(True, url, user, name, in_keyring)

        threading.Thread(target=ask, name="casebook-sign-in", daemon=True).start()

    @Slot(bool, str, str, str, bool)
    def _answered(self, ok: bool, url: str, user: str, text: str, in_keyring: bool) -> None:
        self._set_checking(False)
        if not ok:
            self.answer.setText(text)
            return
        try:
            credentials.remember_user(self._conn, url, user)
        except CasebookError as exc:
            self.answer.setText(f"The site accepted the sign-in, but it could not be saved: "
                                f"{exc}")
            return
        self.password.clear()
        where = (f"The password is kept in your system keyring ({credentials.keyring_name()})."
                 if in_keyring else
                 "This computer has no keyring Casebook can use, so the password is kept "
                 "for this session only: you will be asked again after Casebook closes.")
        self.answer.setText(f"Signed in to {url} as {text or user}. {where}")
        self.sign_out_button.setEnabled(True)
        self.signed_in.emit(url)

    def sign_out(self) -> None:
        url = clean_url(self.site.currentText())
        try:
            credentials.forget(self._conn, url)
        except CasebookError as exc:
            self.answer.setText(str(exc))
            return
        self.password.clear()
        self.sign_out_button.setEnabled(False)
        self.answer.setText(f"Signed out of {url}: its user name and password are forgotten.")

    def _set_checking(self, checking: bool) -> None:
        self._checking = checking
        for widget in (self.site, self.user, self.password, self.check_button):
            widget.setEnabled(not checking)
        if checking:
            self.sign_out_button.setEnabled(False)


def _without(text: str, secret: str) -> str:
    """A message with the password taken out, should anything ever have echoed it."""
    for variant in {secret, secret.replace(" ", "")}:
        if len(variant) >= 4:
            text = text.replace(variant, "••••")
    return text
