"""PDFs and Markdown files from elsewhere join "My documents": searchable like packs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop_app.core.errors import DocumentError, NotInstalledError, PackError
from desktop_app.core.library import list_documents, list_packs
from desktop_app.core.my_documents import COLLECTION_ID, add_document, remove_document
from desktop_app.core.packs.install import install_pack
from desktop_app.core.search import search
from tests.packfactory import PackFactory, make_pdf


def test_a_loose_pdf_joins_my_documents_and_is_searchable(
    store: sqlite3.Connection, tmp_path: Path
) -> None:
    pdf = tmp_path / "Board minutes.pdf"
    pdf.write_bytes(make_pdf(["Agenda", "The board approved the winter gritting plan."]))

    record = add_document(store, pdf)

    assert (record.title, record.page_count, record.pack_id) == ("Board minutes", 2, COLLECTION_ID)
    [collection] = list_packs(store)
    assert (collection.title, collection.trust) == ("My documents", "local")
    [hit] = search(store, "gritting")
    assert (hit.doc_id, hit.page) == (record.doc_id, 2)


def test_adding_the_same_file_twice_keeps_one_copy(
    store: sqlite3.Connection, tmp_path: Path
) -> None:
    note = tmp_path / "notes.md"
    note.write_text("# Visit\n\nMet the youth council about consultation.\n")
    first = add_document(store, note)
    again = add_document(store, note)
    assert first.id == again.id
    assert len(list_documents(store, COLLECTION_ID)) == 1


def test_removing_a_loose_document_removes_its_text_from_search(
    store: sqlite3.Connection, tmp_path: Path
) -> None:
    note = tmp_path / "notes.md"
    note.write_text("# Visit\n\nMet the youth council about consultation.\n")
    record = add_document(store, note)
    remove_document(store, record.doc_id)
    assert search(store, "youth") == []
    assert store.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0
    with pytest.raises(NotInstalledError):
        remove_document(store, record.doc_id)


@pytest.mark.parametrize(("name", "data", "problem"), [
    ("report.docx", b"PK\x03\x04", "not a PDF or Markdown"),
    ("fake.pdf", b"<html>hello</html>", "not a PDF"),
    ("broken.md", b"\xff\xfe\x00bad", "not UTF-8"),
])
def test_files_casebook_cannot_read_are_refused_and_nothing_is_added(
    store: sqlite3.Connection, tmp_path: Path, name: str, data: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError, match=problem):
        add_document(store, path)
    assert list_packs(store) == []


def test_a_pack_cannot_claim_the_id_of_my_documents(
    store: sqlite3.Connection, tmp_path: Path, packs: PackFactory
) -> None:
    note = tmp_path / "notes.md"
    note.write_text("# Mine\n\nPrivate text.\n")
    add_document(store, note)
    impostor = packs.write(packs.spec(pack_id=COLLECTION_ID))
    with pytest.raises(PackError, match="reserved"):
        install_pack(store, impostor)
    assert [d.title for d in list_documents(store, COLLECTION_ID)] == ["notes"]
