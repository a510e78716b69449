"""The whole loop, against the real WordPress on 127.0.0.1: the publisher publishes the
sample pack; a reader finds it in the catalogue, installs it, takes notes and comments;
the publisher publishes 1.1.0; the reader's catalogue offers it, and installing it keeps
the notes and the discussions. The reader uses the command line (``casebook catalogue``),
the same core as the window's File › Get packs…."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app import cli
from desktop_app.core.annotations.store import annotate_quote, get_annotation
from desktop_app.core.comments import outbox, sync
from desktop_app.core.library import active_document, open_library
from desktop_app.core.packs import browse
from desktop_app.core.packs.catalogue import CatalogueError
from desktop_app.core.packs.signing import load_secret_key
from desktop_app.sample import BUNDLED_KEYS, SAMPLE_KEY, SAMPLE_SOURCE
from tests.helpers import direct_connections, served_folder
from tests.sync.library import markers, sessions, sign_in, use_file_keyring
from tests.sync.publishing import publish_as_editor

SAMPLE = "org.casebook.sample.local-by-social"
# In the sample guide; edition 1.1.0 moves its section up the chapter.
MOVED = "It is better to run two accounts well than six badly."


@pytest.fixture(autouse=True)
def _direct_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    direct_connections(monkeypatch)


@pytest.fixture
def published(site, tmp_path: Path) -> Iterator[tuple[Path, Path, str]]:
    """The sample source published to the site and a served folder:
    (source, folder, catalogue address)."""
    source = Path(shutil.copytree(SAMPLE_SOURCE, tmp_path / "local-by-social"))
    folder = tmp_path / "www"
    with served_folder(folder) as base_url:
        publish_as_editor(site, source, folder, base_url, load_secret_key(SAMPLE_KEY))
        yield source, folder, base_url + "catalogue.json"


def run(capsys, data_dir: Path, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--data-dir", str(data_dir), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_reader_gets_the_published_pack_and_its_next_edition_with_notes_and_comments(
        site, published, tmp_path, capsys, monkeypatch) -> None:
    source, folder, catalogue = published
    reader = tmp_path / "reader"
    code, out, _ = run(capsys, reader, "catalogue", "list", catalogue)
    assert code == 0
    assert "Casebook Sample Publisher: 1 pack (signed by Casebook Sample Publisher" in out
    assert "Local by Social  1.0.0, 2026-11-01" in out and "[not installed]" in out

    code, out, _ = run(capsys, reader, "catalogue", "install", catalogue, SAMPLE)
    assert (code, out.split(";")[0]) == (0, f"Installed {SAMPLE} 1.0.0")
    code, out, _ = run(capsys, reader, "catalogue", "list")
    assert out.strip() == f"{catalogue}  (named by Local by Social)"

    store = open_library(reader / "casebook.sqlite3", BUNDLED_KEYS)
    try:
        note = annotate_quote(store, active_document(store, SAMPLE, "guide"), MOVED,
                              body="Two accounts, not six")
        lock = json.loads((source / "publish-lock.json").read_text())["sites"][site.url]
        kent = lock["posts"]["kent-digital-technology"]
        use_file_keyring(monkeypatch, tmp_path)
        sign_in(store, site.url, site.author_user, site.author_password)
        first = outbox.add_comment(store, SAMPLE, "kent-digital-technology", "Useful, thanks.")
        deliver(store)
        assert markers(site.comments(post=kent)) == [first.uuid]  # on the right post

        publish_as_editor(site, source, folder, catalogue.rsplit("/", 1)[0] + "/",
                          load_secret_key(SAMPLE_KEY), edition="1.1.0")
        code, out, _ = run(capsys, reader, "catalogue", "list", catalogue)
        assert "Local by Social  1.1.0" in out
        assert "[update available (you have 1.0.0)]" in out
        code, out, _ = run(capsys, reader, "catalogue", "install", catalogue, SAMPLE)
        assert code == 0 and f"Updated {SAMPLE} 1.1.0 (was 1.0.0)" in out
        assert "Your notes and highlights: 0 in place, 1 moved" in out
        moved = get_annotation(store, note.uuid)
        assert (moved.anchor_state, moved.doc_version) == ("anchored", "1.1.0")

        # The same posts: the next comment joins the same discussion.
        second = outbox.add_comment(store, SAMPLE, "kent-digital-technology", "And 1.1.0?")
        deliver(store)
        assert markers(site.comments(post=kent)) == [first.uuid, second.uuid]
    finally:
        store.close()

    code, _, err = run(capsys, reader, "catalogue", "install", catalogue, SAMPLE)
    assert code == 1 and "Local by Social 1.1.0 is installed already." in err


def deliver(store: sqlite3.Connection) -> None:
    with sessions(store) as sites:
        sync.deliver(store, sites.signed_in, wait_limit=0)


def test_the_link_file_the_publisher_hands_out_opens_the_catalogue(
        published, tmp_path, capsys) -> None:
    _, folder, catalogue = published
    link = tmp_path / "from-the-publisher.cbcat"
    shutil.copyfile(folder / "catalogue.cbcat", link)
    code, out, _ = run(capsys, tmp_path / "reader", "catalogue", "list", str(link),
                       "--search", "social local", "--json")
    listing = json.loads(out)
    assert code == 0 and listing["catalogue"] == catalogue
    assert [(p["pack"], p["state"]) for p in listing["packs"]] == [(SAMPLE, "not-installed")]
    code, out, _ = run(capsys, tmp_path / "reader", "catalogue", "list", str(link),
                       "--search", "planning")
    assert "Nothing matches 'planning'." in out


def test_a_file_that_is_not_a_link_or_an_address_that_is_not_allowed_is_refused(
        tmp_path) -> None:
    bad = tmp_path / "notes.cbcat"
    bad.write_text('{"type": "something-else", "url": "https://example.org/c.json"}')
    with pytest.raises(CatalogueError, match="is not a Casebook catalogue link"):
        browse.catalogue_address(str(bad))
    with pytest.raises(CatalogueError, match="https"):
        browse.catalogue_address("http://packs.example.org/catalogue.json")
