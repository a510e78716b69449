"""GUI tests drive real widgets on Qt's offscreen platform."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from pytestqt.qtbot import QtBot

from desktop_app.core.library import open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.gui.window.main_window import MainWindow
from desktop_app.paths import AppPaths, resolve_paths
from desktop_app.sample import BUNDLED_KEYS, sample_pack
from tests.gui.community import PASSWORD, no_system_keyring
from tests.gui.local_site import LocalSite
from tests.gui.windows import open_window


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the sample pack installed, built once and copied per test."""
    folder = tmp_path_factory.mktemp("sample-store")
    conn = open_library(folder / "casebook.sqlite3", BUNDLED_KEYS)
    install_pack(conn, sample_pack(folder / "build"))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return folder / "casebook.sqlite3"


@pytest.fixture
def paths(tmp_path: Path, sample_store: Path) -> AppPaths:
    resolved = resolve_paths(tmp_path / "data")
    resolved.data_dir.mkdir(parents=True)
    shutil.copy(sample_store, resolved.store_file)
    return resolved


@pytest.fixture
def window(qtbot: QtBot, paths: AppPaths) -> Iterator[MainWindow]:
    win = open_window(qtbot, paths)
    yield win
    win.close()


@pytest.fixture
def site() -> Iterator[LocalSite]:
    """A local stand-in for the community site, where "reader" signs in with PASSWORD."""
    local = LocalSite({"reader": PASSWORD.replace(" ", "")}, {"reader": "Ann Reader"})
    yield local
    local.close()


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """No OS keyring: passwords are kept for the session only (what the tests check)."""
    with no_system_keyring():
        yield
