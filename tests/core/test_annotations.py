"""Highlights and notes in a real store: saving, the W3C form, selectors, search, CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pymupdf
import pytest

from desktop_app.cli import main
from desktop_app.core.annotations.describe import find_quote
from desktop_app.core.annotations.model import Annotation, AnnotationError, QuoteNotFoundError
from desktop_app.core.annotations.store import (
    annotate_quote,
    delete_annotation,
    get_annotation,
    list_annotations,
    undelete_annotation,
    update_annotation,
)
from desktop_app.core.annotations.text import document_text
from desktop_app.core.library import DocumentRecord, active_document, document_bytes
from desktop_app.core.packs.install import install_pack, remove_pack
from desktop_app.core.search import search, search_notes
from tests.helpers import grown
from tests.packfactory import PackFactory

PACK = "org.example.sample"
LONG_PAGE = (
    "Moderation and risk. Agree house rules and publish them before you need them. "
    "A clear policy lets staff hide abusive comments quickly and explain why to residents "
    "who ask. Keep a record of what was removed and when, because requests for information "
    "can follow a heated thread."
)


@pytest.fixture
def installed(store: sqlite3.Connection, packs: PackFactory) -> sqlite3.Connection:
    pages = ["Using social media well. This guide helps council staff plan their channels.",
             LONG_PAGE,
             "Accessibility. Write alt text for every image and caption your videos."]
    install_pack(store, packs.write(packs.spec(guide_pages=pages)))
    return store


def guide(conn: sqlite3.Connection) -> DocumentRecord:
    return active_document(conn, PACK, "guide")


def test_a_note_is_saved_at_once_and_survives_reopening_the_store(
    installed: sqlite3.Connection, data_dir: Path
) -> None:
    note = annotate_quote(installed, guide(installed), "publish them before you need them",
                          body="Ask *comms* for ours.", colour="green", tags=["policy"])

    other = sqlite3.connect(data_dir / "casebook.sqlite3")  # as after a crash and restart
    try:
        row = other.execute("SELECT kind, body, colour, tags, anchor_state FROM annotations "
                            "WHERE uuid = ?", (note.uuid,)).fetchone()
    finally:
        other.close()
    assert row == ("note", "Ask *comms* for ours.", "green", '["policy"]', "anchored")
    assert get_annotation(installed, note.uuid) == note


def test_w3c_form_round_trips_and_says_what_it_should(installed: sqlite3.Connection) -> None:
    note = annotate_quote(installed, guide(installed), "hide abusive comments",
                          body="Check the policy", tags=["moderation", "risk"])
    w3c = json.loads(json.dumps(note.to_w3c()))

    assert w3c["@context"] == "http://www.w3.org/ns/anno.jsonld"
    assert w3c["type"] == "Annotation" and w3c["id"] == f"urn:uuid:{note.uuid}"
    assert w3c["target"]["source"] == f"casebook://pack/{PACK}/guide"
    assert w3c["target"]["state"]["version"] == "1.0.0"
    assert {b["purpose"] for b in w3c["body"]} == {"commenting", "tagging"}
    types = [s["type"] for s in w3c["target"]["selector"]]
    assert types == ["TextQuoteSelector", "TextPositionSelector", "PageSelector",
                     "PdfRectsSelector"]
    assert Annotation.from_w3c(w3c) == note
    with pytest.raises(AnnotationError):
        Annotation.from_w3c({"id": "not a uuid"})


def test_quote_selector_has_32_characters_of_context_and_position_matches_the_text(
    installed: sqlite3.Connection,
) -> None:
    note = annotate_quote(installed, guide(installed), "explain why to residents")
    text = document_text(installed, guide(installed).id).text

    assert " ".join(note.quote.split()) == "explain why to residents"  # may wrap in the PDF
    assert text[note.start:note.end] == note.quote
    assert note.prefix == text[note.start - 32:note.start] and len(note.prefix) == 32
    assert note.suffix == text[note.end:note.end + 32] and len(note.suffix) == 32
    assert note.page_index == 1 and note.page_label == "2"


def test_pdf_rectangles_lie_on_the_quoted_words(installed: sqlite3.Connection) -> None:
    record = guide(installed)
    # This quote wraps onto a second line in the PDF: one rectangle per line.
    quote = "Keep a record of what was removed and when, because requests for information"
    note = annotate_quote(installed, record, quote)

    pdf = pymupdf.open(stream=document_bytes(installed, record), filetype="pdf")
    page = pdf[note.page_index]
    words = " ".join(
        page.get_textbox(grown(r["rect"])).strip()
        for r in note.rects)
    assert {r["page"] for r in note.rects} == {1}
    assert " ".join(words.split()) == quote
    pdf.close()


def test_markdown_annotations_name_their_section(installed: sqlite3.Connection) -> None:
    record = active_document(installed, PACK, "case-one")
    note = annotate_quote(installed, record, "Publish what you heard")

    assert note.section == "Lessons" and note.section_anchor == "lessons"
    assert note.page_index is None and note.rects == []


def test_text_not_in_the_document_is_refused_and_nothing_is_saved(
    installed: sqlite3.Connection,
) -> None:
    with pytest.raises(QuoteNotFoundError, match="not in 'The guide'"):
        annotate_quote(installed, guide(installed), "words that are nowhere")
    assert list_annotations(installed) == []


def test_quotes_match_across_line_breaks_and_ligatures(installed: sqlite3.Connection) -> None:
    text = document_text(installed, guide(installed).id)
    start, end = find_quote(text, "plan   their channels")
    assert " ".join(text.text[start:end].split()) == "plan their channels"
    assert find_quote(text, "Aﬃx") is None and find_quote(text, "   ") is None


def test_edit_soft_delete_and_undo(installed: sqlite3.Connection) -> None:
    record = guide(installed)
    first = annotate_quote(installed, record, "Using social media well")
    second = annotate_quote(installed, record, "caption your videos")
    assert first.kind == "highlight"

    edited = update_annotation(installed, first.uuid, body="Good title", colour="blue",
                               tags=["intro", " intro ", ""])
    assert (edited.kind, edited.colour, edited.tags) == ("note", "blue", ("intro",))
    with pytest.raises(AnnotationError, match="colour"):
        update_annotation(installed, first.uuid, colour="purple")

    delete_annotation(installed, second.uuid)
    assert [a.uuid for a in list_annotations(installed)] == [first.uuid]
    assert get_annotation(installed, second.uuid).deleted is not None
    assert len(list_annotations(installed, include_deleted=True)) == 2

    undelete_annotation(installed, second.uuid)
    assert [a.uuid for a in list_annotations(installed)] == [first.uuid, second.uuid]


def test_list_is_in_reading_order_and_filters(installed: sqlite3.Connection) -> None:
    record = guide(installed)
    later = annotate_quote(installed, record, "caption your videos")
    earlier = annotate_quote(installed, record, "plan their channels")
    case = annotate_quote(installed, active_document(installed, PACK, "case-one"), "Start small")

    assert [a.uuid for a in list_annotations(installed)] == [earlier.uuid, later.uuid, case.uuid]
    assert [a.uuid for a in list_annotations(installed, doc_id="case-one")] == [case.uuid]
    assert list_annotations(installed, state="orphaned") == []


def test_notes_are_found_by_library_search(installed: sqlite3.Connection) -> None:
    record = guide(installed)
    note = annotate_quote(installed, record, "caption your videos",
                          body="Our contractor does subtitling", tags=["suppliers"])
    annotate_quote(installed, record, "plan their channels")

    [hit] = search_notes(installed, "subtitling")
    assert (hit.is_note, hit.note_uuid, hit.doc_id, hit.page) == (True, note.uuid, "guide", 3)
    assert [h.note_uuid for h in search_notes(installed, "supplier*")] == [note.uuid]
    assert [h.note_uuid for h in search_notes(installed, "videos")] == [note.uuid]

    hits = search(installed, "caption", include_notes=True)
    assert hits[0].is_note and not hits[-1].is_note
    assert not any(h.is_note for h in search(installed, "caption"))

    delete_annotation(installed, note.uuid)
    assert search_notes(installed, "subtitling") == []
    undelete_annotation(installed, note.uuid)
    update_annotation(installed, note.uuid, body="In-house now")
    assert search_notes(installed, "subtitling") == []
    assert search_notes(installed, "house")[0].note_uuid == note.uuid


def test_notes_survive_removing_the_pack(installed: sqlite3.Connection) -> None:
    note = annotate_quote(installed, guide(installed), "caption your videos", body="keep me")
    remove_pack(installed, PACK)

    [kept] = list_annotations(installed)
    assert (kept.uuid, kept.quote, kept.body) == (note.uuid, "caption your videos", "keep me")
    [hit] = search_notes(installed, "keep")
    assert (hit.doc_title, hit.page) == ("guide", 3)


def run(data: Path, *args: str) -> int:
    return main(["--data-dir", str(data), *map(str, args)])


def test_cli_notes_add_list_delete(
    tmp_path: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert run(data, "pack", "install", packs.write(packs.spec(), sign=False),
               "--allow-unsigned") == 0
    capsys.readouterr()

    assert run(data, "notes", "add", "--pack", PACK, "--doc", "guide", "--quote",
               "Write alt text", "--note", "Do this for the newsletter", "--colour", "pink",
               "--tag", "todo", "--tag", "a11y") == 0
    assert "Saved note" in capsys.readouterr().out

    assert run(data, "notes", "add", "--pack", PACK, "--doc", "guide", "--quote",
               "text that is not there") == 1
    assert "is not in 'The guide'" in capsys.readouterr().err

    assert run(data, "notes", "list", "--json") == 0
    [note] = json.loads(capsys.readouterr().out)
    assert (note["quote"], note["colour"], note["tags"], note["page"], note["state"]) == (
        "Write alt text", "pink", ["todo", "a11y"], 3, "anchored")

    assert run(data, "search", "newsletter") == 0
    assert f"Your note {note['uuid']}" in capsys.readouterr().out

    assert run(data, "notes", "list") == 0
    out = capsys.readouterr().out
    assert note["uuid"] in out and '"Write alt text"  #todo #a11y' in out

    assert run(data, "notes", "delete", note["uuid"][:8]) == 0
    assert "Undo" in capsys.readouterr().out
    assert run(data, "notes", "list") == 0
    assert "No notes" in capsys.readouterr().out
    assert run(data, "notes", "delete", "0000-no-such-note") == 1
    assert run(data, "notes", "list", "--state", "orphaned", "--deleted") == 0
    assert "No notes" in capsys.readouterr().out
