"""Shared fixtures: a real store in a temporary folder, and real packs built on demand."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.library import open_library
from desktop_app.core.packs.signing import PublicKey, SecretKey, generate_key
from desktop_app.core.packs.trust import trust_key
from tests.packfactory import PackFactory


@pytest.fixture(autouse=True)
def _isolated_user_folders(tmp_path_factory: pytest.TempPathFactory,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch the real user's library."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("CASEBOOK_DATA_DIR", raising=False)


@pytest.fixture(autouse=True)
def _close_cli_log_files() -> Iterator[None]:
    """``cli.main`` logs to a file in the data folder; close it when the test ends."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(scope="session")
def publisher_key() -> SecretKey:
    return generate_key("Test Publisher")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path, publisher_key: SecretKey) -> Iterator[sqlite3.Connection]:
    """A fresh store that trusts the test publisher's key."""
    conn = open_library(data_dir / "casebook.sqlite3")
    trust_key(conn, publisher_key.public)
    yield conn
    conn.close()


@pytest.fixture
def packs(tmp_path: Path, publisher_key: SecretKey) -> PackFactory:
    return PackFactory(tmp_path / "packs", publisher_key)


@pytest.fixture
def trusted_public(publisher_key: SecretKey) -> PublicKey:
    return publisher_key.public
