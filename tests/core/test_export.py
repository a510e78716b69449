"""Exporting notes and importing them back, each export read as a reader's tool reads it:
python-docx and LibreOffice for Word, PyMuPDF, pdftotext and qpdf for the PDF,
python-markdown and an HTML parser for the text formats, a fresh store for JSON-LD."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import docx
import markdown
import pymupdf
import pytest

from desktop_app.cli import main
from desktop_app.core.annotations.model import Annotation
from desktop_app.core.annotations.store import (
    annotate_quote,
    delete_annotation,
    list_annotations,
)
from desktop_app.core.errors import CasebookError
from desktop_app.core.export import export_notes, jsonld
from desktop_app.core.export.common import COLOUR_HEX, NOT_FOUND_SECTION, gather
from desktop_app.core.export.html import to_html
from desktop_app.core.export.jsonld import (
    NoteImportError,
    import_annotations,
    parse,
    to_jsonld,
)
from desktop_app.core.export.markdown import to_markdown
from desktop_app.core.export.word import to_docx
from desktop_app.core.library import active_document, open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.sample import BUNDLED_KEYS, sample_pack
from tests.helpers import content_fingerprint, grown

PACK = "org.casebook.sample.local-by-social"
SCRIPT = "<script>alert('boo')</script>"
OpenStore = Callable[[str], sqlite3.Connection]


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="session")
def sample_packs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample pack, 1.0.0 and its 1.1.0 edition, built once."""
    folder = tmp_path_factory.mktemp("sample")
    return sample_pack(folder / "1.0.0"), sample_pack(folder / "1.1.0", edition="1.1.0")


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[OpenStore]:
    """Opens fresh stores (trusting the sample publisher) and closes them afterwards."""
    opened = []

    def open_store(name: str) -> sqlite3.Connection:
        conn = open_library(tmp_path / name / "casebook.sqlite3", BUNDLED_KEYS)
        opened.append(conn)
        return conn

    yield open_store
    for conn in opened:
        conn.close()


@dataclass
class Noted:
    conn: sqlite3.Connection
    note: Annotation  # PDF, page 2, a note with HTML in it and tags
    wrapped: Annotation  # PDF, page 2, a quote over two lines
    highlight: Annotation  # PDF, page 6, no note
    case: Annotation  # Markdown
    deleted: Annotation
    fuzzy: Annotation | None = None  # made by the ``updated`` fixture

    @property
    def kept(self) -> list[Annotation]:
        return [self.note, self.wrapped, self.highlight, self.case]


def make_notes(conn: sqlite3.Connection) -> Noted:
    guide = active_document(conn, PACK, "guide")
    kent = active_document(conn, PACK, "kent-digital-technology")
    noted = Noted(
        conn,
        annotate_quote(conn, guide, "Social media is now one of the ordinary ways",
                       body=f"Ask comms {SCRIPT} & check\n\nSecond paragraph",
                       colour="pink", tags=["intro", "follow-up"]),
        annotate_quote(conn, guide, "hear from their council. Residents check a feed",
                       body="Wraps over two lines", colour="blue"),
        annotate_quote(conn, guide, "A social media strategy does not need to be long",
                       colour="green"),
        annotate_quote(conn, kent, "A county council in a two-tier area",
                       body="Two tiers *matter*", tags=["context"], colour="orange"),
        annotate_quote(conn, guide, "How to use this guide", body="deleted note"),
    )
    delete_annotation(conn, noted.deleted.uuid)
    return noted


@pytest.fixture
def noted(stores: OpenStore, sample_packs: tuple[Path, Path]) -> Noted:
    conn = stores("main")
    install_pack(conn, sample_packs[0])
    return make_notes(conn)


@pytest.fixture
def updated(noted: Noted, sample_packs: tuple[Path, Path]) -> tuple[Noted, Annotation, Annotation]:
    """Notes on 1.0.0, then 1.1.0 installed: one PDF and one Markdown note are orphaned,
    and the one on changed words is fuzzy."""
    conn = noted.conn
    noted.fuzzy = annotate_quote(conn, active_document(conn, PACK, "guide"),
                                 "Some of the most useful ones fit on two sides of paper",
                                 body="Check the new wording")
    lost_pdf = annotate_quote(conn, active_document(conn, PACK, "guide"),
                              "then left to wither", body="Gone in 1.1.0")
    lost_md = annotate_quote(conn, active_document(conn, PACK, "devon-digital-engagement"),
                             "One further difficulty deserves its own mention")
    install_pack(conn, sample_packs[1])
    states = {a.uuid: a.anchor_state for a in list_annotations(conn)}
    assert states[lost_pdf.uuid] == states[lost_md.uuid] == "orphaned"
    assert states[noted.highlight.uuid] == "anchored"
    assert states[noted.fuzzy.uuid] == "fuzzy"
    return noted, lost_pdf, lost_md


def test_notes_are_grouped_by_document_and_chapter_or_section(noted: Noted) -> None:
    export = gather(noted.conn, pack_id=PACK)

    assert export.title == "Local by Social"
    assert [(d.doc_id, [s.title for s in d.sections]) for d in export.documents] == [
        ("guide", ["Introduction", "Strategy: knowing what you are for"]),  # PDF outline
        ("kent-digital-technology", ["Context"]),  # Markdown heading
    ]
    assert [n.annotation.uuid for n in export.notes] == [a.uuid for a in noted.kept]
    first = export.notes[0]
    assert (first.where, first.link, first.state_note) == (
        "page 2", f"casebook://pack/{PACK}/guide#page=2", "")
    assert export.notes[-1].link == f"casebook://pack/{PACK}/kent-digital-technology#context"

    chosen = gather(noted.conn, uuids=[noted.case.uuid[:8], noted.highlight.uuid])
    assert [n.annotation.uuid for n in chosen.notes] == [noted.highlight.uuid, noted.case.uuid]
    with pytest.raises(CasebookError, match="no notes"):
        gather(noted.conn, uuids=[noted.deleted.uuid])


def test_fuzzy_and_orphaned_notes_are_marked(updated: tuple[Noted, Annotation, Annotation]
                                             ) -> None:
    noted, lost_pdf, _lost_md = updated
    export = gather(noted.conn, pack_id=PACK)
    guide = export.documents[0]

    assert guide.sections[-1].title == NOT_FOUND_SECTION
    [lost] = guide.sections[-1].notes
    assert lost.annotation.uuid == lost_pdf.uuid
    orphaned = "(not found in this version — made on 1.0.0)"
    assert lost.state_note == orphaned
    [fuzzy] = [n for n in export.notes if n.annotation.uuid == noted.fuzzy.uuid]
    assert fuzzy.state_note == "(needs a look)"
    word = "\n".join(p.text for p in docx.Document(io.BytesIO(to_docx(export))).paragraphs)
    for text in (to_markdown(export), "".join(read_html(to_html(export)).text), word):
        assert "(needs a look)" in text and orphaned in text
        assert text.index("Check the new wording") < text.index("then left to wither")


def test_word_export_reads_back_in_order(noted: Noted, tmp_path: Path) -> None:
    target = tmp_path / "notes.docx"
    export_notes(noted.conn, "docx", target, pack_id=PACK)

    paragraphs = [(p.style.name, p.text) for p in docx.Document(str(target)).paragraphs]
    headings = [(style, text) for style, text in paragraphs if style.startswith(("Head", "Tit"))]
    assert headings == [
        ("Title", "Notes: Local by Social"),
        ("Heading 1", "Local by Social: a guide for council staff"),
        ("Heading 2", "Introduction"),
        ("Heading 2", "Strategy: knowing what you are for"),
        ("Heading 1", "Kent County Council: using digital technology (illustrative case study)"),
        ("Heading 2", "Context"),
    ]
    quotes = [i for i, (style, _text) in enumerate(paragraphs) if style == "Quote"]
    assert [paragraphs[i][1] for i in quotes] == [words(a.quote) for a in noted.kept]
    first = quotes[0]
    assert paragraphs[first + 1][1] == "page 2 · pink"
    assert paragraphs[first + 2][1] == f"Ask comms {SCRIPT} & check"
    assert paragraphs[first + 3][1] == "Second paragraph"
    assert paragraphs[first + 4][1].startswith("Tags: intro, follow-up · noted 20")
    assert paragraphs[quotes[-1] + 1][1] == "§ Context · orange"
    assert "deleted note" not in str(paragraphs)

    soffice = shutil.which("soffice")
    if soffice:  # LibreOffice, where installed, must open it and show every note
        profile = (tmp_path / "lo-profile").as_uri()
        subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless",
                        "--convert-to", "txt:Text", "--outdir", str(tmp_path), str(target)],
                       check=True, capture_output=True, timeout=120)
        text = (tmp_path / "notes.txt").read_text(encoding="utf-8-sig")
        for annotation in noted.kept:
            assert words(annotation.quote) in text
            assert annotation.body.split("\n")[0] in text


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(args[0]) is None:
        pytest.fail(f"{args[0]} is needed by this test: apt-get install poppler-utils qpdf "
                    "(.ci/run installs them)")
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def read_annotations(path: Path) -> dict[str, dict]:
    """Every annotation of a PDF by its name (/NM), with the text under its rectangle."""
    found = {}
    with pymupdf.open(path) as pdf:
        for page in pdf:
            for annot in page.annots():
                found[annot.info["id"]] = {
                    "page": page.number, "type": annot.type[1], "info": annot.info,
                    "colors": annot.colors, "vertices": annot.vertices,
                    "covered": page.get_textbox(grown(list(annot.rect))),
                }
    return found


def test_pdf_export_has_real_highlights_over_the_quoted_words(noted: Noted, tmp_path: Path
                                                             ) -> None:
    target = tmp_path / "guide.pdf"
    result = export_notes(noted.conn, "pdf", target, pack_id=PACK)  # the pack's one PDF
    assert (result.notes, result.not_placed) == (3, 0)

    annots = read_annotations(target)
    assert set(annots) == {noted.note.uuid, noted.wrapped.uuid, noted.highlight.uuid}
    for annotation in (noted.note, noted.wrapped, noted.highlight):
        annot = annots[annotation.uuid]
        assert annot["page"] == annotation.page_index
        assert annot["type"] == "Highlight"
        assert annot["info"]["title"] == "Casebook"
        assert annotation.body.split("\n")[0] in annot["info"]["content"]
        expected = [int(COLOUR_HEX[annotation.colour][i:i + 2], 16) / 255 for i in (1, 3, 5)]
        assert annot["colors"]["stroke"] == pytest.approx(expected, abs=0.01)
        assert words(annotation.quote) in words(annot["covered"])
    assert len(annots[noted.wrapped.uuid]["vertices"]) == 8  # one quad per line
    assert "Tags: intro, follow-up" in annots[noted.note.uuid]["info"]["content"]

    text = run_tool("pdftotext", str(target), "-")
    assert text.returncode == 0 and "Social media is now one of the ordinary ways" in text.stdout
    check = run_tool("qpdf", "--check", str(target))
    assert check.returncode == 0, check.stdout + check.stderr


def test_pdf_export_lists_notes_not_placed_on_a_last_page(
    updated: tuple[Noted, Annotation, Annotation], tmp_path: Path
) -> None:
    noted, lost_pdf, lost_md = updated
    target = tmp_path / "guide.pdf"
    result = export_notes(noted.conn, "pdf", target, pack_id=PACK, doc_id="guide")
    assert result.not_placed == 1

    placed = read_annotations(target)
    assert noted.highlight.uuid in placed and lost_pdf.uuid not in placed
    with pymupdf.open(target) as pdf:
        last = words(pdf[-1].get_text())
    assert last.startswith("Notes not placed")
    assert "then left to wither" in last and "Gone in 1.1.0" in last
    assert "made on 1.0.0" in last and lost_md.quote not in last  # another document's
    assert placed[noted.fuzzy.uuid]["info"]["content"].startswith("(needs a look)")
    assert "Notes not placed" in run_tool("pdftotext", str(target), "-").stdout
    assert run_tool("qpdf", "--check", str(target)).returncode == 0


class TextAndLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read_html(page: str) -> TextAndLinks:
    parser = TextAndLinks()
    parser.feed(page)
    return parser


def test_html_export_is_self_contained_and_escapes_everything(noted: Noted, tmp_path: Path
                                                             ) -> None:
    target = tmp_path / "notes.html"
    export_notes(noted.conn, "html", target, pack_id=PACK)
    page = read_html(target.read_text(encoding="utf-8"))
    text = "".join(page.text)

    for annotation in noted.kept:
        assert words(annotation.quote) in words(text)
        assert annotation.body.split("\n")[0] in text
    assert SCRIPT in text  # the note's markup is its text...
    assert "script" not in [tag for tag, _attrs in page.tags]  # ...never an element
    assert "page 2" in text and "§ Context" in text and "deleted note" not in text
    assert "(needs a look)" not in text

    links = [value for _tag, attrs in page.tags for name, value in attrs.items()
             if name in ("href", "src")]
    assert links and all(link.startswith("casebook://pack/") for link in links)
    assert f"casebook://pack/{PACK}/guide#page=2" in links
    assert not any(tag in ("link", "img", "iframe", "object") for tag, _attrs in page.tags)
    pink = next(attrs for tag, attrs in page.tags
                if tag == "div" and f"note-{noted.note.uuid}" == attrs.get("id"))
    assert "c-pink" in pink["class"]
    assert f".c-pink {{ border-left-color: {COLOUR_HEX['pink']}; }}" in "".join(
        text for text in page.text)


def test_markdown_export_renders_with_every_note(noted: Noted, tmp_path: Path) -> None:
    target = tmp_path / "notes.md"
    export_notes(noted.conn, "md", target, pack_id=PACK)
    source = target.read_text(encoding="utf-8")
    rendered = markdown.markdown(source)
    page = read_html(rendered)
    text = "".join(page.text)

    assert [t for t, _ in page.tags if t in ("h1", "h2", "h3")] == [
        "h1", "h2", "h3", "h3", "h2", "h3"]
    for annotation in noted.kept:
        assert words(annotation.quote) in words(text)
    assert f"Ask comms {SCRIPT} & check" in text and "Second paragraph" in text
    assert "script" not in [tag for tag, _attrs in page.tags]
    assert "Two tiers matter" in text  # the note's own Markdown still works
    hrefs = [attrs["href"] for tag, attrs in page.tags if tag == "a"]
    assert hrefs[0] == f"casebook://pack/{PACK}/guide#page=2"
    assert "[page 2](casebook://" in source and "deleted note" not in source


def test_jsonld_round_trip_into_a_fresh_store(
    noted: Noted, stores: OpenStore, sample_packs: tuple[Path, Path], tmp_path: Path
) -> None:
    target = tmp_path / "notes.jsonld"
    export_notes(noted.conn, "jsonld", target)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert (data["@context"], data["type"], data["total"]) == (
        "http://www.w3.org/ns/anno.jsonld", "AnnotationCollection", 4)
    assert data["first"]["type"] == "AnnotationPage" and len(data["first"]["items"]) == 4

    fresh = stores("fresh")
    install_pack(fresh, sample_packs[0])
    report = import_annotations(fresh, target.read_bytes())
    assert report.as_json() == {"added": 4, "skipped_duplicates": 0, "orphaned": 0,
                                "refused": 0}

    def essentials(a: Annotation) -> tuple:
        return (a.uuid, a.pack_id, a.doc_id, a.doc_version, a.kind, a.selectors, a.body,
                a.tags, a.colour, a.created, a.updated, a.anchor_state)

    assert [essentials(a) for a in list_annotations(fresh)] == [
        essentials(a) for a in noted.kept]

    before = content_fingerprint(fresh)
    again = import_annotations(fresh, target.read_bytes())
    assert (again.added, again.skipped_duplicates) == (0, 4)
    assert content_fingerprint(fresh) == before

    # The same notes under new uuids are still duplicates: same target and body.
    for item in data["first"]["items"]:
        item["id"] = item["id"][:-4] + "beef"
    assert import_annotations(fresh, json.dumps(data)).as_json()["skipped_duplicates"] == 4


def test_import_reanchors_onto_the_installed_version_and_keeps_notes_of_missing_packs(
    noted: Noted, stores: OpenStore, sample_packs: tuple[Path, Path],
) -> None:
    lost = annotate_quote(noted.conn, active_document(noted.conn, PACK, "guide"),
                          "then left to wither", body="Gone in 1.1.0")
    document = to_jsonld(gather(noted.conn))  # made on 1.0.0
    count = len(document["first"]["items"])

    newer = stores("newer")
    install_pack(newer, sample_packs[1])
    report = import_annotations(newer, document)
    assert (report.added, report.orphaned) == (count, 1)
    after = {a.uuid: a for a in list_annotations(newer)}
    assert (after[noted.note.uuid].doc_version, after[noted.note.uuid].anchor_state) == (
        "1.1.0", "anchored")
    assert words(after[noted.note.uuid].quote) == words(noted.note.quote)
    assert after[noted.highlight.uuid].doc_version == "1.1.0"
    [kept] = newer.execute("SELECT selectors FROM annotation_history WHERE uuid = ?",
                           (noted.note.uuid,)).fetchall()  # for a rollback to 1.0.0
    assert json.loads(kept[0]) == list(noted.note.selectors)
    assert (after[lost.uuid].anchor_state, after[lost.uuid].doc_version) == (
        "orphaned", "1.0.0")

    empty = stores("empty")  # the pack is not installed: kept, as orphans
    report = import_annotations(empty, document)
    assert report.orphaned == report.added == count
    install_pack(empty, sample_packs[0])  # installing the pack places them
    assert {a.anchor_state for a in list_annotations(empty)} == {"anchored"}


@pytest.mark.parametrize("payload, message", [
    (b"{not json", "not a JSON file"),
    (b'{"type": "Nonsense"}', "not a web annotation collection"),
    (b'{"type": "AnnotationCollection", "first": "https://example.org/page1"}', "elsewhere"),
    ("cut", "cut short"),
    ("bad-colour", "colour 'purple'"),
    ("bad-selector", "no quote"),
    ("bad-uuid", "Annotation 2"),
])
def test_malformed_files_are_refused_and_nothing_changes(
    noted: Noted, payload: bytes | str, message: str
) -> None:
    collection = to_jsonld(gather(noted.conn))
    items = collection["first"]["items"]
    for item in items:  # new uuids, so that only the damage can stop them
        item["id"] = item["id"][:-4] + "cafe"
        item["body"] = [{"type": "TextualBody", "value": "new", "purpose": "commenting"}]
    if payload == "cut":
        del items[-1]
    elif payload == "bad-colour":
        items[1]["target"]["styleClass"] = "purple"
    elif payload == "bad-selector":
        items[2]["target"]["selector"] = [{"type": "TextPositionSelector", "start": 1, "end": 2}]
    elif payload == "bad-uuid":
        items[1]["id"] = "urn:uuid:not-a-uuid"
    data = payload if isinstance(payload, bytes) else json.dumps(collection).encode()

    before = content_fingerprint(noted.conn)
    with pytest.raises(NoteImportError, match=message):
        import_annotations(noted.conn, data)
    assert content_fingerprint(noted.conn) == before


def test_import_limits_and_foreign_annotations(
    noted: Noted, monkeypatch: pytest.MonkeyPatch
) -> None:
    collection = to_jsonld(gather(noted.conn))
    monkeypatch.setattr(jsonld, "MAX_IMPORT_ITEMS", 3)
    with pytest.raises(NoteImportError, match="limit is 3"):
        parse(collection)
    monkeypatch.setattr(jsonld, "MAX_IMPORT_BYTES", 1000)
    with pytest.raises(NoteImportError, match="are refused"):
        parse(json.dumps(collection))

    web = {"type": "Annotation", "id": "https://example.org/anno/1",
           "target": {"source": "https://example.org/page", "selector": []}}
    report = import_annotations(noted.conn, {"type": "AnnotationPage", "items": [web]})
    assert (report.added, report.refused) == (0, 1)


def run(data: Path, *args: object) -> int:
    return main(["--data-dir", str(data), *map(str, args)])


def test_cli_export_and_import_round_trip(
    tmp_path: Path, sample_packs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for data in (first, second):
        assert run(data, "pack", "install", sample_packs[0]) == 0
    assert run(first, "notes", "add", "--pack", PACK, "--doc", "guide", "--quote",
               "Social media is now one of the ordinary ways", "--note", "CLI note",
               "--tag", "cli") == 0
    assert run(first, "notes", "add", "--pack", PACK, "--doc", "kent-digital-technology",
               "--quote", "A county council in a two-tier area", "--colour", "blue") == 0
    capsys.readouterr()

    out = tmp_path / "out"
    out.mkdir()
    for fmt in ("docx", "md", "html", "pdf", "jsonld"):
        assert run(first, "notes", "export", "--pack", PACK, "--format", fmt,
                   "-o", out / f"notes.{fmt}") == 0, capsys.readouterr().err
    assert "Exported 2 notes" in capsys.readouterr().out
    assert "CLI note" in (out / "notes.md").read_text(encoding="utf-8")

    assert run(second, "notes", "import", out / "notes.jsonld", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "added": 2, "skipped_duplicates": 0, "orphaned": 0, "refused": 0}
    assert run(second, "notes", "import", out / "notes.jsonld") == 0
    assert "Imported 0 notes and highlights; 2 already here" in capsys.readouterr().out
    assert run(second, "notes", "list", "--json") == 0
    assert [n["body"] for n in json.loads(capsys.readouterr().out)] == ["CLI note", ""]

    # Refusals: exit 1, one clear line, no file and no temporary file left behind.
    assert run(first, "notes", "export", "--doc", "kent-digital-technology", "--format",
               "pdf", "-o", out / "kent.pdf") == 1
    assert "is not a PDF" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for unwritable in (tmp_path / "missing" / "notes.md", blocker / "notes.md", out):
        assert run(first, "notes", "export", "--format", "md", "-o", unwritable) == 1
        err = capsys.readouterr().err
        assert err.startswith("casebook: ") and ("Cannot write" in err or "folder" in err)
    assert sorted(p.name for p in out.iterdir()) == [
        f"notes.{fmt}" for fmt in sorted(("docx", "md", "html", "pdf", "jsonld"))]
    (out / "broken.jsonld").write_text('{"type": "AnnotationCollection"')
    assert run(second, "notes", "import", out / "broken.jsonld") == 1
    assert "nothing was imported" in capsys.readouterr().err
