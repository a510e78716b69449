"""The sample pack that ships with Casebook: built from its sources, signed, installable,
and with a second edition for update tests."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import pymupdf
import pytest

from desktop_app.cli import main
from desktop_app.core.library import list_documents, list_packs, open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.core.packs.reader import read_pack
from desktop_app.core.packs.trust import trusted_keys
from desktop_app.core.search import search
from desktop_app.sample import BUNDLED_KEYS, sample_pack

PACK_ID = "org.casebook.sample.local-by-social"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("sample")
    return {"1.0.0": sample_pack(out), "1.1.0": sample_pack(out, edition="1.1.0")}


@pytest.fixture
def library(tmp_path: Path) -> sqlite3.Connection:
    conn = open_library(tmp_path / "casebook.sqlite3", BUNDLED_KEYS)
    yield conn
    conn.close()


def test_sample_pack_is_signed_by_the_key_that_ships_with_casebook(
    built: dict[str, Path], library: sqlite3.Connection
) -> None:
    pack = read_pack(built["1.0.0"], trusted_keys(library))
    assert pack.signature.trust == "signed"
    assert "Sample Publisher" in pack.signature.signer_name


def test_sample_guide_is_a_real_pdf_of_at_least_20_a4_pages_with_an_outline(
    built: dict[str, Path],
) -> None:
    with zipfile.ZipFile(built["1.0.0"]) as zf:
        guide = pymupdf.open(stream=zf.read("documents/guide.pdf"), filetype="pdf")
    assert guide.page_count >= 20
    assert round(guide[0].rect.width) == 595 and round(guide[0].rect.height) == 842
    chapters = [title for level, title, _page in guide.get_toc() if level == 1]
    assert len(chapters) >= 8
    assert any(page.get_images() for page in guide)


def test_case_studies_are_labelled_illustrative_and_have_images_and_a_table(
    built: dict[str, Path], library: sqlite3.Connection
) -> None:
    install_pack(library, built["1.0.0"])
    cases = [d for d in list_documents(library, PACK_ID) if d.kind == "case-study"]
    assert {d.doc_id for d in cases} == {
        "kent-digital-technology", "devon-digital-engagement", "brent-social-media"}
    for doc in cases:
        html = library.execute("SELECT html FROM documents WHERE id = ?", (doc.id,)).fetchone()[0]
        assert "Illustrative case study" in html
        assert "<table>" in html
        [src] = {part.split('"')[0] for part in html.split('src="')[1:]}
        assert library.execute(
            "SELECT count(*) FROM media WHERE path = ? AND pack_id = ?", (src, PACK_ID)
        ).fetchone()[0] == 1


def test_the_same_sources_build_the_same_bytes(tmp_path: Path, built: dict[str, Path]) -> None:
    again = sample_pack(tmp_path)
    assert again.read_bytes() == built["1.0.0"].read_bytes()


def test_edition_110_updates_the_sample_and_its_search_text(
    built: dict[str, Path], library: sqlite3.Connection
) -> None:
    install_pack(library, built["1.0.0"])
    deleted = "One further difficulty deserves its own mention"
    assert search(library, f'"{deleted}"', doc_id="devon-digital-engagement")

    result = install_pack(library, built["1.1.0"])

    assert (result.outcome, result.previous_version) == ("updated", "1.0.0")
    assert [p.version for p in list_packs(library)] == ["1.1.0"]
    assert not search(library, f'"{deleted}"')
    assert search(library, '"quietly abandoned"', doc_id="guide")


def test_demo_command_installs_the_sample_and_shows_library_and_a_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path / "data"), "demo", "--no-window"]) == 0
    out = capsys.readouterr().out
    assert "Local by Social" in out
    assert "Brent Council" in out
    assert "Search for" in out and "page" in out
