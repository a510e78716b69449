"""Annotations across pack updates and rollbacks: generated edits and the sample pack."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pymupdf
import pytest

from desktop_app.core.annotations import reanchor as reanchor_module
from desktop_app.core.annotations.anchoring import anchor
from desktop_app.core.annotations.model import Annotation, AnnotationError
from desktop_app.core.annotations.review import confirm_place
from desktop_app.core.annotations.store import annotate_quote, get_annotation, list_annotations
from desktop_app.core.annotations.text import DocumentText, Unit
from desktop_app.core.library import active_document, document_bytes, list_packs, open_library
from desktop_app.core.packs.install import install_pack, rollback_pack
from desktop_app.sample import BUNDLED_KEYS, sample_pack
from tests.helpers import grown
from tests.packfactory import PackFactory

PACK = "org.example.sample"
FILLER = ("Councils use many channels to reach residents, and each needs an owner, a purpose "
          "and a plan for the evenings and weekends. ")
PARAGRAPH = ("Before you start, agree who answers questions out of hours. Residents expect a "
             "reply within a working day, and a simple rota prevents anxious gaps.")


def update(store: sqlite3.Connection, packs: PackFactory, pages: list[str],
           version: str = "1.1.0") -> object:
    return install_pack(store, packs.write(packs.spec(version=version, guide_pages=pages)))


def annotate(store: sqlite3.Connection, quote: str, doc: str = "guide", nth: int = 0
             ) -> Annotation:
    return annotate_quote(store, active_document(store, PACK, doc), quote, nth=nth)


def on_page_words(store: sqlite3.Connection, note: Annotation) -> str:
    record = active_document(store, PACK, note.doc_id)
    pdf = pymupdf.open(stream=document_bytes(store, record), filetype="pdf")
    try:
        return " ".join(" ".join(
            pdf[r["page"]].get_textbox(grown(r["rect"])).split()
        ) for r in note.rects)
    finally:
        pdf.close()


def assert_on_page(store: sqlite3.Connection, note: Annotation, words: str) -> None:
    """The highlight rectangles cover the quoted words and hardly anything else."""
    found = on_page_words(store, note)
    assert words in found and len(found) <= len(words) + 2


def test_text_moved_to_another_page_is_found_there_with_new_rectangles(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.write(packs.spec(guide_pages=["Intro.", PARAGRAPH, "End."])))
    note = annotate(store, "agree who answers questions out of hours")
    assert note.page_index == 1

    result = update(store, packs, ["Intro.", FILLER * 3, PARAGRAPH, "End."])

    assert result.reanchor.as_json() == {"kept": 0, "moved": 1, "fuzzy": 0, "orphaned": 0}
    moved = get_annotation(store, note.uuid)
    assert (moved.anchor_state, moved.doc_version, moved.page_index) == ("anchored", "1.1.0", 2)
    assert_on_page(store, moved, "agree who answers questions out of hours")


def test_a_paragraph_inserted_before_moves_the_anchor(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.write(packs.spec(guide_pages=[PARAGRAPH])))
    note = annotate(store, "a simple rota prevents anxious gaps")

    update(store, packs, [FILLER + "\n" + PARAGRAPH])

    moved = get_annotation(store, note.uuid)
    assert moved.anchor_state == "anchored" and moved.anchor_score >= 0.9
    assert moved.start > note.start and " ".join(moved.quote.split()) == \
        "a simple rota prevents anxious gaps"
    assert_on_page(store, moved, "a simple rota prevents anxious gaps")


def test_a_typo_fixed_inside_the_quote_is_fuzzy_never_orphaned(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.write(packs.spec(guide_pages=[
        FILLER + "Residents expect a reply within a workign day, and a simple rota helps."])))
    note = annotate(store, "Residents expect a reply within a workign day")

    result = update(store, packs, [
        FILLER + "Residents expect a reply within a working day, and a simple rota helps."])

    fixed = get_annotation(store, note.uuid)
    assert result.reanchor.fuzzy == 1
    assert fixed.anchor_state == "fuzzy" and 0.75 <= fixed.anchor_score < 1
    assert " ".join(fixed.quote.split()) == "Residents expect a reply within a working day"


def test_a_deleted_paragraph_orphans_its_note_which_stays_listed(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.write(packs.spec(guide_pages=[FILLER, PARAGRAPH])))
    kept = annotate(store, "each needs an owner")
    lost = annotate(store, "agree who answers questions out of hours")

    result = update(store, packs, [FILLER, "Nothing about rotas here any more."])

    assert result.reanchor.as_json() == {"kept": 1, "moved": 0, "fuzzy": 0, "orphaned": 1}
    [orphan] = list_annotations(store, state="orphaned")
    assert (orphan.uuid, orphan.doc_version) == (lost.uuid, "1.0.0")
    assert orphan.quote == lost.quote and orphan.selectors == lost.selectors
    assert [a.uuid for a in list_annotations(store)] == [kept.uuid, lost.uuid]


def test_context_picks_the_right_one_of_a_repeated_sentence(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    repeated = "Publish what you heard."
    case = ("# A case study\n\nThe first workshop was about parks. {r} Parks came first.\n\n"
            "## Lessons\n\nThe second workshop was about buses. {r} Buses came second.\n")
    spec = packs.spec()
    spec.files["documents/case-one.md"] = case.format(r=repeated).encode()
    install_pack(store, packs.write(spec))
    note = annotate(store, repeated, doc="case-one", nth=1)
    assert note.section == "Lessons"

    newer = packs.spec(version="1.1.0")
    newer.files["documents/case-one.md"] = (
        "# A case study\n\n" + FILLER + "\n\n" + case.format(r=repeated)[16:]).encode()
    install_pack(store, packs.write(newer))

    found = get_annotation(store, note.uuid)
    assert found.anchor_state == "anchored" and found.section == "Lessons"
    assert "buses" in found.prefix


def test_update_and_its_reanchoring_are_one_transaction(
    store: sqlite3.Connection, packs: PackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_pack(store, packs.write(packs.spec(guide_pages=[PARAGRAPH])))
    note = annotate(store, "a simple rota")

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(reanchor_module, "_write", broken)
    with pytest.raises(OSError):
        update(store, packs, [FILLER + PARAGRAPH])
    assert [p.version for p in list_packs(store)] == ["1.0.0"]
    assert get_annotation(store, note.uuid) == note


def test_anchor_on_unchanged_text_is_immediate_and_unrelated_text_orphans() -> None:
    old = DocumentText(["alpha beta gamma"], [Unit(0, "1", None)], "same")
    selectors = ({"type": "TextQuoteSelector", "exact": "beta", "prefix": "alpha ",
                  "suffix": " gamma"}, {"type": "TextPositionSelector", "start": 6, "end": 10})
    assert anchor(selectors, old, made_on_sha256="same").method == "unchanged"
    other = DocumentText(["something else entirely"], [Unit(0, "1", None)], "other")
    assert anchor(selectors, other, made_on_sha256="same").state == "orphaned"


# --- the sample pack, 1.0.0 -> 1.1.0 (see content_packs/local-by-social/README.md) ----

SAMPLE = "org.casebook.sample.local-by-social"
UNCHANGED = {
    "guide": "Accessible social media is simply social media that works for as many people",
    "kent-digital-technology": "The aim is to give readers a realistic scenario to discuss",
}
MOVED = "It is better to run two accounts well than six badly."
DELETED = "One further difficulty deserves its own mention."
COMMA_REMOVED = "Record what you decide, and update the plan on a page."


@pytest.fixture(scope="module")
def sample_editions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("sample-editions")
    return {"1.0.0": sample_pack(out), "1.1.0": sample_pack(out, edition="1.1.0")}


def test_sample_update_keeps_moves_and_orphans_notes_and_rollback_restores_them(
    tmp_path: Path, sample_editions: dict[str, Path]
) -> None:
    conn = open_library(tmp_path / "casebook.sqlite3", BUNDLED_KEYS)
    try:
        install_pack(conn, sample_editions["1.0.0"])
        notes = {doc: annotate_quote(conn, active_document(conn, SAMPLE, doc), quote)
                 for doc, quote in UNCHANGED.items()}
        guide = active_document(conn, SAMPLE, "guide")
        moved = annotate_quote(conn, guide, MOVED, body="Two accounts, not six")
        comma = annotate_quote(conn, guide, COMMA_REMOVED)
        # 1.1.0 rewrites the words right after this quote ("…and then quietly abandoned").
        context_edited = annotate_quote(conn, guide, "Accounts are opened for a single campaign")
        deleted = annotate_quote(conn, active_document(conn, SAMPLE, "devon-digital-engagement"),
                                 DELETED, body="This happened to us")
        before = {a.uuid: a for a in list_annotations(conn)}

        result = install_pack(conn, sample_editions["1.1.0"])

        assert result.reanchor is not None and result.reanchor.total == 6
        after = {a.uuid: a for a in list_annotations(conn)}
        assert after.keys() == before.keys()  # none lost
        for note in notes.values():
            assert after[note.uuid].anchor_state == "anchored"
            assert after[note.uuid].doc_version == "1.1.0"
        now = after[moved.uuid]
        assert (now.anchor_state, now.doc_version) == ("anchored", "1.1.0")
        # The section moved up the chapter: earlier in the text and on an earlier page.
        assert now.start < moved.start and now.page_index < moved.page_index
        assert " ".join(now.quote.split()) == MOVED
        orphan = after[deleted.uuid]
        assert (orphan.anchor_state, orphan.doc_version, orphan.quote, orphan.body) == (
            "orphaned", "1.0.0", DELETED, "This happened to us")
        assert deleted.uuid in {a.uuid for a in list_annotations(conn, state="orphaned")}
        # The quote itself is untouched and occurs once: it stays put, no question asked.
        assert after[context_edited.uuid].anchor_state == "anchored"
        # A comma removed inside the quote: found, marked for the reader to check.
        assert after[comma.uuid].anchor_state == "fuzzy"
        assert " ".join(after[comma.uuid].quote.split()) == COMMA_REMOVED.replace(",", "")
        made_on_new = annotate_quote(conn, active_document(conn, SAMPLE, "guide"),
                                     "quietly abandoned")

        rollback_pack(conn, SAMPLE)
        restored = {a.uuid: a for a in list_annotations(conn)}
        # Made on 1.1.0, whose words are not in 1.0.0: kept, orphaned, never dropped.
        assert restored[made_on_new.uuid].anchor_state == "orphaned"
        for uuid, old in before.items():
            assert restored[uuid].selectors == old.selectors
            assert (restored[uuid].anchor_state, restored[uuid].doc_version) == (
                "anchored", "1.0.0")

        # Forward again to the kept 1.1.0: its anchors come back from history.
        assert install_pack(conn, sample_editions["1.1.0"]).outcome == "restored"
        again = {a.uuid: a for a in list_annotations(conn)}
        assert again[moved.uuid].selectors == now.selectors
        assert again[deleted.uuid].anchor_state == "orphaned"
        assert (again[made_on_new.uuid].anchor_state, again[made_on_new.uuid].selectors) == (
            "anchored", made_on_new.selectors)
    finally:
        conn.close()


def test_the_reader_can_confirm_a_fuzzy_place_but_not_an_orphan(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.write(packs.spec(guide_pages=[
        "Publish your house rules, and review them every year with residents."])))
    note = annotate(store, "review them every year with residents")
    update(store, packs, ["Publish your house rules, and review them each year with residents."])
    moved = get_annotation(store, note.uuid)
    assert moved.anchor_state == "fuzzy"

    assert confirm_place(store, note.uuid).anchor_state == "anchored"
    with pytest.raises(AnnotationError, match="Only a note marked"):
        confirm_place(store, note.uuid)
