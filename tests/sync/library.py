"""A library whose pack points at the test WordPress: the pieces the sync tests share."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import keyring
from keyrings.alt.file import PlaintextKeyring

from desktop_app.core.comments import credentials
from desktop_app.core.comments.sites import SiteSessions
from desktop_app.core.packs.install import install_pack
from tests.packfactory import PackFactory

PACK = "org.example.sample"
MARKER = re.compile(r"casebook:([0-9a-f-]{36})")

FILE_KEYRING = "keyrings.alt.file.PlaintextKeyring"


def use_file_keyring(monkeypatch, folder: Path) -> None:
    """A real keyring backend that needs no desktop session: a file in ``folder``
    (outside the data folder), chosen by name as a user or IT would."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FILE_KEYRING)
    backend = PlaintextKeyring()
    backend.file_path = str(folder / "keyring.cfg")
    keyring.set_keyring(backend)


def install_for(store: sqlite3.Connection, packs: PackFactory, url: str,
                guide_post: int, case_post: int, version: str = "1.0.0") -> None:
    spec = packs.spec(version=version)
    spec.fields["site"]["url"] = url
    spec.documents[0]["post"] = guide_post
    spec.documents[1]["post"] = case_post
    install_pack(store, packs.write(spec))


def sign_in(store: sqlite3.Connection, url: str, user: str, password: str) -> None:
    assert credentials.save(store, url, user, password) is True


def markers(comments: list[dict]) -> list[str]:
    """The outbox uuids carried by the site's comments (one per copy on the site)."""
    found = []
    for c in comments:
        match = MARKER.search(c["content"])
        if match:
            found.append(match[1])
    return found


def sessions(store: sqlite3.Connection, timeout: float = 10.0) -> SiteSessions:
    return SiteSessions(store, timeout=timeout)
