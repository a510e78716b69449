"""Sign-in for community sites: the user name in the store (not a secret), the
application password in the operating system's keyring (Windows Credential Manager,
macOS Keychain, the Secret Service on Linux) and nowhere else: never the store, a
file of Casebook's, or a log.

Where no keyring exists (a bare Linux session), the password is kept in memory for
this session only, and the caller says so; the CLI then reads it from
``CASEBOOK_SITE_PASSWORD`` or standard input each time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass, field

from desktop_app.core.store.db import transaction

log = logging.getLogger(__name__)

SERVICE = "Casebook community site"
PASSWORD_VARIABLE = "CASEBOOK_SITE_PASSWORD"
# Backends that store the secret in a plain file: never chosen unless asked for
# by name (PYTHON_KEYRING_BACKEND), which is how the tests pick a file keyring.
_UNSAFE_BACKENDS = ("keyrings.alt.file.PlaintextKeyring", "keyring.backends.fail.Keyring",
                    "keyring.backends.null.Keyring")

_session: dict[str, str] = {}  # site url -> password, when no keyring exists


@dataclass(frozen=True)
class Credentials:
    site_url: str
    user: str
    password: str = field(repr=False)  # never in a repr, a traceback or a log line


def keyring_name() -> str | None:
    """The keyring in use, or None when there is none Casebook would trust."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend
    except Exception:  # pragma: no cover - a dependency, broken only by a bad install
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, ChainerBackend) and not backend.backends:
        return None
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    if name in _UNSAFE_BACKENDS and os.environ.get("PYTHON_KEYRING_BACKEND") != name:
        return None
    return getattr(backend, "name", name)


def _key(site_url: str) -> str:
    return f"site.{site_url.rstrip('/')}.user"  # the user name, in the settings table


def save(conn: sqlite3.Connection, site_url: str, user: str, password: str) -> bool:
    """Remember the sign-in. True if the password went to the keyring, False if it is
    kept for this session only."""
    remember_user(conn, site_url, user)
    return store_password(site_url, user, password)


def remember_user(conn: sqlite3.Connection, site_url: str, user: str) -> None:
    """The user name, in the store (it is not a secret)."""
    with transaction(conn):
        conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) "
                     "DO UPDATE SET value = excluded.value", (_key(site_url), user))


def store_password(site_url: str, user: str, password: str) -> bool:
    """The password, in the keyring (True) or for this session only (False).

    Keyring calls can block (an unlock prompt on Linux): a window calls this off its
    GUI thread. No store access here, so any thread may.
    """
    site_url = site_url.rstrip("/")
    password = password.replace(" ", "")  # WordPress shows them in groups of four
    if keyring_name() is not None:
        import keyring
        from keyring.errors import KeyringError

        try:
            keyring.set_password(SERVICE, f"{user}@{site_url}", password)
            _session.pop(site_url, None)
            return True
        except KeyringError as exc:  # locked, or refused by policy
            log.warning("The keyring refused the password: %s", exc.__class__.__name__)
    _session[site_url] = password
    return False


def load(conn: sqlite3.Connection, site_url: str) -> Credentials | None:
    """The sign-in for the site, or None if the reader has not signed in (or the
    password is not available in this session)."""
    site_url = site_url.rstrip("/")
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (_key(site_url),)).fetchone()
    if row is None:
        return None
    user = row[0]
    password = _session.get(site_url)
    if password is None and keyring_name() is not None:
        import keyring
        from keyring.errors import KeyringError

        try:
            password = keyring.get_password(SERVICE, f"{user}@{site_url}")
        except KeyringError as exc:
            log.warning("The keyring could not be read: %s", exc.__class__.__name__)
    if password is None and os.environ.get(PASSWORD_VARIABLE):
        password = os.environ[PASSWORD_VARIABLE].replace(" ", "")
    return Credentials(site_url, user, password) if password else None


def signed_in_user(conn: sqlite3.Connection, site_url: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?",
                       (_key(site_url),)).fetchone()
    return row[0] if row else None


def forget(conn: sqlite3.Connection, site_url: str) -> None:
    site_url = site_url.rstrip("/")
    user = signed_in_user(conn, site_url)
    _session.pop(site_url, None)
    with transaction(conn):
        conn.execute("DELETE FROM settings WHERE key = ?", (_key(site_url),))
    if user and keyring_name() is not None:
        import keyring
        from keyring.errors import KeyringError, PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError, KeyringError):  # nothing stored
            keyring.delete_password(SERVICE, f"{user}@{site_url}")
