"""File › Get packs… on the real window: a publisher's signed catalogue served on
127.0.0.1 (any static web server would do), listed with its packs' versions, sizes,
dates and signer, searched, and a pack installed from it through a child process, as
a file import is."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop_app.core.library import open_library
from desktop_app.core.packs import first_use
from desktop_app.core.packs.browse import link_file_bytes
from desktop_app.core.packs.install import install_pack
from desktop_app.core.packs.signing import generate_key
from desktop_app.core.packs.trust import trust_key, trusted_keys
from desktop_app.gui.library.get_packs_dialog import COLUMNS
from desktop_app.paths import AppPaths
from tests.gui.community import closed_port_url
from tests.gui.windows import open_window
from tests.helpers import direct_connections, served_folder, write_catalogue
from tests.packfactory import PackFactory

PACK = "org.example.guidance"


@pytest.fixture
def catalogue(tmp_path: Path, paths: AppPaths, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[str]:
    """A publisher folder offering 1.1.0 of a pack whose 1.0.0 the library has, and a
    second pack it does not have; the catalogue signed by a key the reader trusts."""
    direct_connections(monkeypatch)
    folder = tmp_path / "publisher"
    key = generate_key("Guidance Publisher")
    factory = PackFactory(tmp_path / "packs", key)
    with served_folder(folder) as base:
        built = {}
        for pack_id, version, title in ((PACK, "1.0.0", "Planning guidance"),
                                        (PACK, "1.1.0", "Planning guidance"),
                                        ("org.example.roads", "2.0.0", "Roads and streets")):
            spec = factory.spec(pack_id=pack_id, version=version)
            spec.fields.update({"title": title, "catalogue": base + "catalogue.json"})
            built[pack_id, version] = factory.write(spec)
        conn = open_library(paths.store_file)
        trust_key(conn, key.public)
        install_pack(conn, built[PACK, "1.0.0"])
        conn.close()
        write_catalogue(folder, [built[PACK, "1.1.0"], built["org.example.roads", "2.0.0"]],
                        "Guidance Publisher", key)
        yield base + "catalogue.json"


def rows(dialog) -> list[dict[str, str]]:
    table = dialog.table
    return [{name: table.topLevelItem(i).text(column) for column, name in enumerate(COLUMNS)}
            for i in range(table.topLevelItemCount())]


@pytest.fixture
def reader(qtbot: QtBot, catalogue: str, paths: AppPaths) -> Iterator:
    """The window, opened on the library the catalogue fixture prepared."""
    window = open_window(qtbot, paths)
    yield window
    window.close()


def test_get_packs_lists_the_catalogue_and_installs_and_updates_from_it(
        qtbot: QtBot, reader, catalogue: str, paths: AppPaths) -> None:
    window = reader
    window.get_packs_action.trigger()
    dialog = window.get_packs
    # The installed pack names its catalogue: it is offered without typing anything.
    assert dialog.address.findText(catalogue) >= 0
    dialog.address.setEditText(catalogue)
    with qtbot.waitSignal(dialog.listed, timeout=20_000):
        dialog.load()
    assert "Guidance Publisher: 2 packs, signed by Guidance Publisher" in dialog.heading.text()
    assert [(r["Title"], r["Version"], r["Date"], r["Signed by"], r["In your library"])
            for r in rows(dialog)] == [
        ("Planning guidance", "1.1.0", "2026-11-01", "Guidance Publisher",
         "update available (you have 1.0.0)"),
        ("Roads and streets", "2.0.0", "2026-11-01", "Guidance Publisher", "not installed")]
    assert all(r["Size"].endswith("KB") for r in rows(dialog))

    dialog.search.setText("roads")
    assert [r["Title"] for r in rows(dialog)] == ["Roads and streets"]
    assert dialog.install_button.isEnabled() and dialog.install_button.text() == "&Install"
    with qtbot.waitSignal(dialog.installed, timeout=60_000) as done:
        dialog.install_button.click()
    assert done.args[0] is True, done.args
    qtbot.waitUntil(lambda: rows(dialog) and rows(dialog)[0]["In your library"] == "installed",
                    timeout=20_000)
    assert not dialog.install_button.isEnabled()

    dialog.search.setText("")
    dialog.table.setCurrentItem(dialog.table.topLevelItem(0))
    assert dialog.install_button.text() == "&Update"
    with qtbot.waitSignal(dialog.installed, timeout=60_000) as done:
        dialog.install_button.click()
    assert done.args[0] is True and "Updated" in done.args[1], done.args
    versions = dict(sqlite3.connect(paths.store_file).execute(
        "SELECT pack_id, version FROM packs WHERE active = 1").fetchall())
    assert versions[PACK] == "1.1.0" and versions["org.example.roads"] == "2.0.0"
    library = [window.library.topLevelItem(i).text(0)
               for i in range(window.library.topLevelItemCount())]
    assert any("Roads and streets" in text for text in library)


def test_a_link_file_opens_get_packs_on_its_catalogue(qtbot: QtBot, reader, catalogue: str,
                                                      tmp_path: Path) -> None:
    window = reader
    link = tmp_path / "guidance.cbcat"
    link.write_bytes(link_file_bytes(catalogue, "Guidance Publisher"))
    window.open_path(link)  # as File › Open, a drop or the command line would
    dialog = window.get_packs
    qtbot.waitUntil(lambda: dialog.listing is not None, timeout=20_000)
    assert dialog.address.currentText() == catalogue
    assert len(rows(dialog)) == 2


def test_an_address_that_does_not_answer_is_said_in_words(qtbot: QtBot, window,
                                                         monkeypatch) -> None:
    direct_connections(monkeypatch)
    window.get_packs_action.trigger()
    dialog = window.get_packs
    dialog.load(closed_port_url() + "/catalogue.json")
    qtbot.waitUntil(lambda: "Cannot reach" in dialog.status.text(), timeout=20_000)
    assert dialog.table.topLevelItemCount() == 0 and not dialog.install_button.isEnabled()


@pytest.fixture
def unknown_publisher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A catalogue signed by a key the library does not trust, the key published beside it."""
    direct_connections(monkeypatch)
    folder = tmp_path / "harbour"
    factory = PackFactory(tmp_path / "harbour-packs", HARBOUR)
    with served_folder(folder) as base:
        write_catalogue(folder, [factory.write(factory.spec(pack_id="org.example.harbour"))],
                        "Harbour Council", HARBOUR)
        yield base + "catalogue.json"


HARBOUR = generate_key("Harbour Council Publishing")


def test_an_unknown_key_is_asked_about_once_and_the_keys_dialog_takes_it_back(
        qtbot: QtBot, window, unknown_publisher: str) -> None:
    window.get_packs_action.trigger()
    dialog = window.get_packs
    with qtbot.waitSignal(dialog.listed, timeout=20_000):
        dialog.load(unknown_publisher)
    qtbot.waitUntil(lambda: dialog.key_box is not None, timeout=5_000)
    fingerprint = first_use.KeyQuestion(HARBOUR.public, "", "").fingerprint
    assert fingerprint in dialog.key_box.text()
    assert "Harbour Council Publishing" in dialog.key_box.text()
    trust = next(b for b in dialog.key_box.buttons() if b.text() == "Trust this key")
    with qtbot.waitSignal(dialog.listed, timeout=20_000):
        trust.click()
    assert "signed by Harbour Council Publishing" in dialog.heading.text()
    assert rows(dialog)[0]["Signed by"] == "Harbour Council Publishing"
    assert dialog.key_box is None  # not asked again

    keys = window.open_keys()
    item = next(keys.table.topLevelItem(i) for i in range(keys.table.topLevelItemCount())
                if keys.table.topLevelItem(i).text(1) == HARBOUR.public.key_id)
    assert item.text(2) == "trusted by you"
    keys.table.setCurrentItem(item)
    keys.remove_button.click()
    assert HARBOUR.public.key_id not in trusted_keys(window.conn)
    keys.close()

    with qtbot.waitSignal(dialog.listed, timeout=20_000):
        dialog.load(unknown_publisher)
    qtbot.waitUntil(lambda: dialog.key_box is not None, timeout=5_000)  # asked again
    with qtbot.waitSignal(dialog.key_decided, timeout=5_000) as decided:
        dialog.key_box.button(QMessageBox.StandardButton.No).click()
    assert decided.args == [False]
    with qtbot.waitSignal(dialog.listed, timeout=20_000):
        dialog.load(unknown_publisher)
    assert dialog.key_box is None and "key you do not trust yet" in dialog.heading.text()

    keys = window.open_keys()
    refused = keys.table.topLevelItem(keys.table.topLevelItemCount() - 1)
    assert (refused.text(1), refused.text(2)) == (HARBOUR.public.key_id,
                                                  "not trusted: you said no")
    keys.table.setCurrentItem(refused)
    keys.ask_again_button.click()
    assert first_use.refused_keys(window.conn) == []
    keys.close()
