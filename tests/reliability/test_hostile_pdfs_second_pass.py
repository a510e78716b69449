"""Hostile PDFs, second pass (issue 13): every MuPDF error in words, one bad page no
longer refuses the document, and files MuPDF repairs are taken with a note.

Each PDF is real bytes (tests/reliability/hostile_files.py), installed in a pack
through the real CLI or the core, into a real store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app.cli import main
from desktop_app.core.documents.pdf import extract_pdf, open_pdf
from desktop_app.core.errors import DocumentError
from desktop_app.core.packs.install import install_pack
from tests.core import test_pack_refusals
from tests.core.test_pack_refusals import (
    UPDATE,
    assert_cli_refusal,
    assert_refused,
    install_from_cli,
    with_guide,
)
from tests.packfactory import PackFactory
from tests.reliability import hostile_files

library = test_pack_refusals.library
cli_data_dir = test_pack_refusals.cli_data_dir


@pytest.mark.parametrize(("build", "words"), [
    (hostile_files.page_tree_cycle_pdf,
     r"none of its 1 pages can be read \(Page 1 cannot be read \(its page tree loops back "
     r"on itself\)\.\)"),
    (hostile_files.uncountable_pages_pdf,
     r"is a PDF whose pages cannot be counted \(its page count is not a usable number\)"),
], ids=["page-tree-cycle", "uncountable"])
def test_a_pdf_mupdf_cannot_count_or_load_is_refused_in_words(
    library: sqlite3.Connection, packs: PackFactory, build: Callable[[], bytes], words: str
) -> None:
    assert_refused(library, with_guide(packs, build()), r"documents/guide\.pdf.*" + words,
                   DocumentError)


@pytest.mark.parametrize("build", [hostile_files.page_tree_cycle_pdf,
                                   hostile_files.uncountable_pages_pdf],
                         ids=["page-tree-cycle", "uncountable"])
def test_the_cli_refuses_them_in_one_line_without_unexpected_error(
    cli_data_dir: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str],
    build: Callable[[], bytes],
) -> None:
    status, err = install_from_cli(cli_data_dir, with_guide(packs, build()), capsys)
    assert_cli_refusal(status, err, "documents/guide.pdf")
    assert "code=" not in err and "FzError" not in err and "RuntimeError" not in err


@pytest.mark.parametrize("build", [
    hostile_files.page_tree_cycle_pdf, hostile_files.uncountable_pages_pdf,
    hostile_files.truncated_pdf, hostile_files.garbage_xref_pdf, hostile_files.no_pages_pdf,
    hostile_files.encrypted_pdf, hostile_files.one_bad_page_pdf,
])
def test_whatever_mupdf_raises_reaches_the_reader_as_a_document_error_in_words(
    build: Callable[[], bytes]
) -> None:
    try:
        extracted = extract_pdf(build(), "x.pdf")
    except DocumentError as exc:
        assert "code=" not in str(exc) and str(exc).startswith("x.pdf")
    else:
        assert extracted.units


def test_one_unreadable_page_keeps_the_others_and_says_which(
    cli_data_dir: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = with_guide(packs, hostile_files.one_bad_page_pdf())
    assert main(["--data-dir", str(cli_data_dir), "pack", "install", str(pack)]) == 0
    out = capsys.readouterr().out
    assert "documents/guide.pdf: 1 of 3 pages cannot be read and are not searched (page 2)" \
        in out
    assert main(["--data-dir", str(cli_data_dir), "search", "moderation"]) == 0
    out = capsys.readouterr().out
    assert "first page" in out and "third page" in out
    assert ("Not searched: The guide (org.example.sample/guide), page 2, which could not be "
            "read.") in out


def test_the_unreadable_page_is_stored_empty_with_its_reason(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(library, with_guide(packs, hostile_files.one_bad_page_pdf()))
    rows = library.execute(
        "SELECT p.number, p.text, p.problem FROM pages p JOIN documents d "
        "ON d.id = p.document_id WHERE d.doc_id = 'guide' AND d.pack_version = ? "
        "ORDER BY p.number", (UPDATE,)).fetchall()
    assert [(row[0], bool(row[1]), row[2]) for row in rows] == [
        (0, True, None),
        (1, False, "Page 2 cannot be read (its page tree loops back on itself)."),
        (2, True, None),
    ]


@pytest.mark.parametrize("build", [hostile_files.junk_before_header_pdf,
                                   hostile_files.versionless_header_pdf],
                         ids=["junk-before-header", "header-without-version"])
def test_a_pdf_mupdf_repairs_is_installed_with_a_note(
    cli_data_dir: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str],
    build: Callable[[], bytes],
) -> None:
    pack = with_guide(packs, build())
    assert main(["--data-dir", str(cli_data_dir), "pack", "install", str(pack)]) == 0
    out = capsys.readouterr().out
    assert "documents/guide.pdf is damaged" in out and "was repaired to open it" in out
    assert main(["--data-dir", str(cli_data_dir), "search", "residents"]) == 0
    assert "Page 2. [Residents] shaped the plan." in capsys.readouterr().out


def test_html_and_images_named_pdf_are_still_not_pdfs() -> None:
    for data in (b"<html><body><h1>The guide</h1></body></html>",
                 hostile_files.plain_pdf(1)[:0] + b"\x89PNG\r\n\x1a\n" + bytes(64)):
        with pytest.raises(DocumentError, match="is not a PDF"):
            open_pdf(data, "guide.pdf")
