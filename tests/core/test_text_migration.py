"""Upgrading a library made before text normalisation (schema 3): the sample guide's
ligature words become findable, and notes made on the old text keep their places."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pymupdf
import pytest

from desktop_app.core.annotations.store import create_annotation, list_annotations
from desktop_app.core.annotations.text import document_text
from desktop_app.core.library import active_document, document_bytes, open_library
from desktop_app.core.normalise import normal
from desktop_app.core.packs.install import install_pack
from desktop_app.core.search import search
from desktop_app.sample import BUNDLED_KEYS, sample_pack

PACK = "org.casebook.sample.local-by-social"
OLD_EXTRACTOR_SUFFIX = "+norm1"


def _as_before_schema_4(conn: sqlite3.Connection) -> None:
    """Put the store back as Casebook wrote it at schema 3: PDF text exactly as PyMuPDF
    extracts it (ligature code points and all), indexed, hashed and named as then."""
    for doc in conn.execute("SELECT id, pack_id, doc_id, media_type, extractor, blob_sha256 "
                            "FROM documents").fetchall():
        if doc["media_type"] != "application/pdf":
            continue
        data = conn.execute("SELECT data FROM blobs WHERE sha256 = ?",
                            (doc["blob_sha256"],)).fetchone()[0]
        raw = [page.get_text("text") for page in pymupdf.open(stream=data, filetype="pdf")]
        digest = hashlib.sha256()
        for (page_id, old), text in zip(conn.execute(
                "SELECT id, text FROM pages WHERE document_id = ? ORDER BY number",
                (doc["id"],)).fetchall(), raw, strict=True):
            for index in ("pages_fts", "pages_words"):
                conn.execute(f"INSERT INTO {index} ({index}, rowid, text) "
                             "VALUES ('delete', ?, ?)", (page_id, old))
                conn.execute(f"INSERT INTO {index} (rowid, text) VALUES (?, ?)", (page_id, text))
            conn.execute("UPDATE pages SET text = ? WHERE id = ?", (text, page_id))
            digest.update(text.encode() + b"\f")
        conn.execute("UPDATE documents SET extractor = ?, text_sha256 = ? WHERE id = ?",
                     (doc["extractor"].removesuffix(OLD_EXTRACTOR_SUFFIX), digest.hexdigest(),
                      doc["id"]))
    conn.execute("PRAGMA user_version = 3")


@pytest.fixture(scope="module")
def old_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A schema-3 library with the sample pack and two notes made on its old text."""
    folder = tmp_path_factory.mktemp("schema3")
    conn = open_library(folder / "casebook.sqlite3", BUNDLED_KEYS)
    install_pack(conn, sample_pack(folder / "build"))
    conn.execute("BEGIN IMMEDIATE")
    _as_before_schema_4(conn)
    conn.execute("COMMIT")
    guide = active_document(conn, PACK, "guide")
    text = document_text(conn, guide.id).text
    assert "staﬀ" in text and "staff" not in text  # the old text layer, as seen by users
    for phrase, body in (("limited staﬀ time", "ligature note"),
                         ("hard-to-ﬁll roles", "second ligature")):
        start = text.index(phrase)
        create_annotation(conn, guide, start, start + len(phrase), body=body)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return folder / "casebook.sqlite3"


@pytest.fixture
def upgraded(tmp_path: Path, old_library: Path) -> sqlite3.Connection:
    shutil.copy(old_library, tmp_path / "casebook.sqlite3")
    conn = open_library(tmp_path / "casebook.sqlite3", BUNDLED_KEYS)
    yield conn
    conn.close()


def test_after_the_upgrade_the_guides_ligature_words_are_found(upgraded) -> None:
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] >= 4
    hits = search(upgraded, "staff", pack_id=PACK, limit=200)
    guide_pages = {h.unit for h in hits if h.doc_id == "guide"}
    assert len(guide_pages) >= 5
    assert search(upgraded, '"limited staff time"', pack_id=PACK)
    assert any(h.doc_id == "guide" for h in search(upgraded, "officer", pack_id=PACK, limit=200))


def test_notes_made_on_the_old_text_keep_their_words_and_read_plainly(upgraded) -> None:
    notes = {n.body: n for n in list_annotations(upgraded, pack_id=PACK)}
    guide = active_document(upgraded, PACK, "guide")
    text = document_text(upgraded, guide.id).text
    for body, quote in (("ligature note", "limited staff time"),
                        ("second ligature", "hard-to-fill roles")):
        note = notes[body]
        assert note.quote == quote
        assert text[note.start:note.end] == quote
        assert note.anchor_state == "anchored"
        assert "ﬀ" not in note.selectors[0]["prefix"] + note.selectors[0]["suffix"]


def test_the_upgraded_text_is_what_a_fresh_install_stores(upgraded, tmp_path: Path) -> None:
    fresh = open_library(tmp_path / "fresh.sqlite3", BUNDLED_KEYS)
    install_pack(fresh, sample_pack(tmp_path / "build"))
    migrated = document_text(upgraded, active_document(upgraded, PACK, "guide").id)
    installed = document_text(fresh, active_document(fresh, PACK, "guide").id)
    assert migrated.text == installed.text and migrated.sha256 == installed.sha256
    row = upgraded.execute("SELECT extractor FROM documents WHERE doc_id = 'guide'").fetchone()
    assert row[0].endswith(OLD_EXTRACTOR_SUFFIX)
    fresh.close()


def test_the_upgrade_backs_up_the_old_library_first(upgraded, tmp_path: Path) -> None:
    backups = list((tmp_path / "backups").glob("casebook-schema3-*.sqlite3"))
    assert len(backups) == 1
    old = sqlite3.connect(backups[0])
    assert "staﬀ" in "".join(r[0] for r in old.execute("SELECT text FROM pages"))
    old.close()


def test_pages_read_from_the_pdf_normalise_to_the_stored_text(upgraded) -> None:
    guide = active_document(upgraded, PACK, "guide")
    stored = document_text(upgraded, guide.id)
    pdf = pymupdf.open(stream=document_bytes(upgraded, guide), filetype="pdf")
    for index, page in enumerate(pdf):
        assert normal(page.get_text("text")) == stored.unit_text(index)
