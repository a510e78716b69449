"""Installing, updating, rolling back and removing packs in a real store."""

from __future__ import annotations

import sqlite3

import pymupdf
import pytest

from desktop_app.core.documents.pdf import page_labels
from desktop_app.core.errors import NotInstalledError, PackError, SignatureError
from desktop_app.core.library import list_documents, list_packs
from desktop_app.core.packs.install import install_pack, remove_pack, rollback_pack
from desktop_app.core.packs.signing import generate_key
from desktop_app.core.search import search
from tests.helpers import content_fingerprint
from tests.packfactory import PackFactory, make_pdf


def test_install_puts_documents_text_and_media_in_the_store(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    result = install_pack(store, packs.build())

    assert (result.outcome, result.trust, result.documents) == ("installed", "signed", 2)
    [info] = list_packs(store)
    assert (info.pack_id, info.version, info.signer_name) == (
        "org.example.sample", "1.0.0", "Test Publisher")
    docs = {d.doc_id: d for d in list_documents(store, "org.example.sample")}
    assert docs["guide"].page_count == 3
    assert docs["case-one"].page_count == 2  # sections: "A case study", "Lessons"
    html = store.execute("SELECT html FROM documents WHERE doc_id = 'case-one'").fetchone()[0]
    assert '<img alt="A diagram" src="media/diagram.png">' in html
    media = store.execute("SELECT path, media_type FROM media").fetchall()
    assert [tuple(row) for row in media] == [("media/diagram.png", "image/png")]
    assert [hit.page for hit in search(store, "alt text")] == [3]


def test_reinstalling_the_same_pack_changes_nothing(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    path = packs.build()
    install_pack(store, path)
    before = content_fingerprint(store)

    assert install_pack(store, path).outcome == "already-installed"
    assert content_fingerprint(store) == before


def test_update_replaces_search_results_and_keeps_the_previous_version(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.build())
    newer = packs.spec(version="1.1.0", guide_pages=["Completely rewritten about podcasts."])
    result = install_pack(store, packs.write(newer))

    assert (result.outcome, result.previous_version) == ("updated", "1.0.0")
    assert search(store, "podcasts")
    assert not search(store, "moderation risk")
    [info] = list_packs(store)
    assert (info.version, info.previous_version) == ("1.1.0", "1.0.0")


def test_rollback_brings_back_the_previous_version_and_its_text(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.build())
    newer = packs.spec(version="1.1.0", guide_pages=["Completely rewritten about podcasts."])
    install_pack(store, packs.write(newer))

    assert rollback_pack(store, "org.example.sample") == ("1.1.0", "1.0.0")
    assert [info.version for info in list_packs(store)] == ["1.0.0"]
    assert search(store, "moderation risk") and not search(store, "podcasts")
    # The newer version was kept, so it can be restored without the file's text changing.
    assert install_pack(store, packs.write(newer)).outcome == "restored"
    assert search(store, "podcasts")


def test_only_the_previous_version_is_kept_and_unused_blobs_go(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    for n, version in enumerate(["1.0.0", "1.1.0", "1.2.0"]):
        install_pack(store, packs.write(packs.spec(version=version, guide_pages=[f"v{n}"])))

    versions = {row[0] for row in store.execute("SELECT version FROM packs")}
    assert versions == {"1.1.0", "1.2.0"}
    used = {row[0] for row in store.execute(
        "SELECT blob_sha256 FROM documents UNION SELECT blob_sha256 FROM media")}
    assert {row[0] for row in store.execute("SELECT sha256 FROM blobs")} == used


def test_identical_files_are_stored_once_across_versions(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.build())
    install_pack(store, packs.write(packs.spec(version="1.0.1")))

    assert store.execute("SELECT count(*) FROM documents").fetchone()[0] == 4
    assert store.execute("SELECT count(*) FROM blobs").fetchone()[0] == 3


def test_rollback_without_a_kept_version_is_refused(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.build())
    with pytest.raises(NotInstalledError, match="no earlier version"):
        rollback_pack(store, "org.example.sample")


def test_remove_deletes_content_but_remembers_the_highest_version(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.write(packs.spec(version="2.0.0")))
    remove_pack(store, "org.example.sample")

    assert list_packs(store) == []
    assert store.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0
    assert search(store, "moderation") == []
    with pytest.raises(PackError, match="older than 2.0.0"):
        install_pack(store, packs.write(packs.spec(version="1.0.0")))


def test_remove_of_an_unknown_pack_names_it(store: sqlite3.Connection) -> None:
    with pytest.raises(NotInstalledError, match="org.example.nothing"):
        remove_pack(store, "org.example.nothing")


def test_unsigned_pack_needs_explicit_permission_and_is_marked(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    path = packs.write(packs.spec(), sign=False)
    with pytest.raises(SignatureError, match="not signed"):
        install_pack(store, path)
    assert list_packs(store) == []

    assert install_pack(store, path, allow_unsigned=True).trust == "unsigned"
    assert list_packs(store)[0].trust == "unsigned"


def test_unknown_signer_needs_explicit_permission(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    stranger = generate_key("Somebody else")
    path = packs.write(packs.spec(), sign=stranger)
    with pytest.raises(SignatureError, match=stranger.public.key_id):
        install_pack(store, path)
    assert install_pack(store, path, allow_unsigned=True).trust == "unknown-signer"


def test_a_pack_once_signed_refuses_unsigned_updates_even_when_allowed(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.build())
    unsigned_update = packs.write(packs.spec(version="1.1.0"), sign=False)
    with pytest.raises(SignatureError, match="signed by a trusted publisher before"):
        install_pack(store, unsigned_update, allow_unsigned=True)
    assert list_packs(store)[0].version == "1.0.0"


def test_pdf_page_labels_are_kept(store: sqlite3.Connection, packs: PackFactory) -> None:
    doc = pymupdf.open(stream=make_pdf(["front matter", "body text about budgets"]))
    doc.set_page_labels([{"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 1},
                         {"startpage": 1, "prefix": "", "style": "D", "firstpagenum": 1}])
    spec = packs.spec()
    spec.files["documents/guide.pdf"] = doc.tobytes()
    install_pack(store, packs.write(spec))

    [hit] = search(store, "budgets")
    assert (hit.page, hit.label) == (2, "1")


def test_every_page_label_style_is_read_from_the_label_rules() -> None:
    doc = pymupdf.open(stream=make_pdf([f"page {n}" for n in range(8)]))
    doc.set_page_labels([
        {"startpage": 0, "prefix": "", "style": "R", "firstpagenum": 1},
        {"startpage": 2, "prefix": "A-", "style": "D", "firstpagenum": 1},
        {"startpage": 4, "prefix": "", "style": "a", "firstpagenum": 26},
        {"startpage": 6, "prefix": "Annex ", "style": "", "firstpagenum": 1},
    ])
    expected = [doc[n].get_label() for n in range(doc.page_count)]
    assert page_labels(doc) == expected == ["I", "II", "A-1", "A-2", "z", "aa", "Annex ", "Annex "]
