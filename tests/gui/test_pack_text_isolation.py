"""Pack titles in the window: right-to-left text and overrides stay inside their own
label text (issue 13), and control characters show as escapes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop_app.core.packs.install import install_pack
from desktop_app.paths import resolve_paths
from tests.gui.windows import open_window
from tests.packfactory import PackFactory

FSI, PDI = "\u2068", "\u2069"
HOSTILE = "\u202eexe.txt \u05e9\u05dc\u05d5\u05dd\x1b[31m"


def test_a_hostile_title_cannot_reorder_the_words_beside_it(
    qtbot: QtBot, store: sqlite3.Connection, packs: PackFactory, data_dir: Path
) -> None:
    spec = packs.spec()
    spec.fields["title"] = HOSTILE
    spec.documents[0]["title"] = f"Guide {HOSTILE}"
    install_pack(store, packs.write(spec))
    store.close()
    window = open_window(qtbot, resolve_paths(data_dir))
    pack_row = window.library.topLevelItem(0)
    # The version after the title is outside the isolate: the override cannot reverse it.
    assert pack_row.text(0) == f"{FSI}\u202eexe.txt \u05e9\u05dc\u05d5\u05dd\\x1b[31m{PDI}  1.0.0"
    guide_row = pack_row.child(0)
    assert guide_row.text(0).startswith(f"{FSI}Guide \u202e") and guide_row.text(0).endswith(PDI)
    window.open_document("org.example.sample", "guide")
    assert window.windowTitle().endswith(f"{PDI} — Casebook")
    assert "\x1b" not in window.windowTitle()
    window.close()


def test_the_search_panel_names_the_pages_it_could_not_look_in(
    qtbot: QtBot, store: sqlite3.Connection, packs: PackFactory, data_dir: Path
) -> None:
    from desktop_app.gui.search.search_panel import SearchPanel
    from tests.reliability.hostile_files import one_bad_page_pdf

    spec = packs.spec()
    spec.files["documents/guide.pdf"] = one_bad_page_pdf()
    install_pack(store, packs.write(spec))
    panel = SearchPanel(data_dir / "casebook.sqlite3")
    qtbot.addWidget(panel)
    panel.set_query("moderation")
    qtbot.waitUntil(lambda: panel.status.text() not in ("Type to search", ""), timeout=10_000)
    assert panel.status.text() == (
        "2 results\nNot searched: The guide (org.example.sample/guide), page 2, which could "
        "not be read.")
    panel.shutdown()
