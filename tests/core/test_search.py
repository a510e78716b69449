"""Searching the library: what the user types, what is found, in which order, and how shown."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app import cli
from desktop_app.core.library import open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.core.packs.signing import SecretKey
from desktop_app.core.packs.trust import trust_key
from desktop_app.core.search import SearchHit, search, to_fts_query
from tests.packfactory import PackFactory

# One PDF page per text; page numbers below are 1-based, as the reader shows them.
PAGES = [
    "Social media policy. Our council plans its channels carefully.",  # 1
    "Media coverage was social in tone, not official.",  # 2
    "The moderator approved every comment on the page.",  # 3
    "Moderation and risk: agree house rules early.",  # 4
    "Podcasts reach commuters on the train.",  # 5
    "Newsletters reach older residents by post.",  # 6
    "Write a résumé for each volunteer.",  # 7
    "Budgets budgets budgets: the budgets chapter covers budgets.",  # 8
    "A single mention of budgets here among many other words about planning, "
    "meetings, agendas, minutes and the annual report.",  # 9
    "A resident asked about parking.",  # 10
]
# The Markdown case study (tests.packfactory.CASE_MARKDOWN) has two sections:
# "A case study" (Residents were engaged through ... online conversations) and
# "Lessons" (Start small and listen first. Publish what you heard.).


def places(hits: list[SearchHit]) -> set[tuple[str, int | str | None]]:
    """Where each hit is, as the reader names it: a PDF page number or a section heading."""
    return {(hit.doc_id, hit.page if hit.page is not None else hit.section) for hit in hits}


def pages(*numbers: int) -> set[tuple[str, int | str | None]]:
    return {("guide", n) for n in numbers}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory,
            publisher_key: SecretKey) -> Iterator[sqlite3.Connection]:
    """One store with one pack, built once: these tests only read it."""
    folder = tmp_path_factory.mktemp("search")
    conn = open_library(folder / "data" / "casebook.sqlite3")
    trust_key(conn, publisher_key.public)
    factory = PackFactory(folder / "packs", publisher_key)
    install_pack(conn, factory.write(factory.spec(guide_pages=PAGES)))
    yield conn
    conn.close()


# --- What the user types ---------------------------------------------------------------


@pytest.mark.parametrize(("typed", "query"), [
    ("social media", '("social") AND ("media")'),
    ('"social media"', '("social media")'),
    ("moder*", '("moder"*)'),
    ("podcasts OR newsletters", '("podcasts" OR "newsletters")'),
    ("reach -podcasts", '("reach") NOT ("podcasts")'),
    ("reach NOT podcasts", '("reach") NOT ("podcasts")'),
    ('reach -"older residents"', '("reach") NOT ("older residents")'),
    ("text:social", '("text social")'),
    ("^social", '("social")'),
    ('social" OR (media', '("social" OR "media")'),
])
def test_typed_text_becomes_a_quoted_fts_query(typed: str, query: str) -> None:
    assert to_fts_query(typed) == query


@pytest.mark.parametrize("typed", [
    "", "   ", "-podcasts", "NOT podcasts", "-podcasts -newsletters", "OR", "AND NOT",
    "!!! ... ???", '""', "* ( ) : ^ -", "\x00",
])
def test_input_with_nothing_to_find_gives_no_query_and_no_hits(
    library: sqlite3.Connection, typed: str
) -> None:
    assert to_fts_query(typed) is None
    assert search(library, typed) == []


def test_words_must_all_be_on_the_page(library: sqlite3.Connection) -> None:
    assert places(search(library, "social media")) == pages(1, 2)
    assert places(search(library, "social podcasts")) == set()


def test_a_quoted_phrase_finds_only_the_words_side_by_side(library: sqlite3.Connection) -> None:
    assert places(search(library, '"social media"')) == pages(1)
    assert places(search(library, '"media social"')) == set()


def test_a_trailing_star_finds_words_that_start_so(library: sqlite3.Connection) -> None:
    assert places(search(library, "moder*")) == pages(3, 4)  # moderator, Moderation
    # "newslet" is no word, so only the star finds "Newsletters".
    assert places(search(library, "newslet")) == set()
    assert places(search(library, "newslet*")) == pages(6)


def test_a_prefix_ending_inside_a_suffix_still_finds_the_words(
    library: sqlite3.Connection,
) -> None:
    assert places(search(library, "moderat*")) == pages(3, 4)


def test_or_finds_pages_with_either_word(library: sqlite3.Connection) -> None:
    assert places(search(library, "podcasts OR newsletters")) == pages(5, 6)


def test_a_minus_or_not_leaves_out_pages_with_the_word(library: sqlite3.Connection) -> None:
    assert places(search(library, "reach")) == pages(5, 6)
    assert places(search(library, "reach -podcasts")) == pages(6)
    assert places(search(library, "reach NOT podcasts")) == pages(6)
    assert places(search(library, 'reach -"older residents"')) == pages(5)


@pytest.mark.parametrize("typed", ["resume", "résumé", "RESUME", "Résumé"])
def test_accents_and_case_do_not_matter(library: sqlite3.Connection, typed: str) -> None:
    assert places(search(library, typed)) == pages(7)


def test_other_forms_of_a_word_are_found(library: sqlite3.Connection) -> None:
    everywhere = pages(6, 10) | {("case-one", "A case study")}
    assert places(search(library, "residents")) == everywhere
    assert places(search(library, "resident")) == everywhere
    assert places(search(library, "engaging")) == {("case-one", "A case study")}


# --- Where hits are, and in which order ------------------------------------------------


def test_pdf_hits_give_the_page_and_markdown_hits_the_section(
    library: sqlite3.Connection,
) -> None:
    [pdf_hit] = search(library, "carefully")
    assert (pdf_hit.doc_id, pdf_hit.page, pdf_hit.label, pdf_hit.section) == (
        "guide", 1, "1", None)
    assert pdf_hit.doc_title == "The guide"

    [md_hit] = search(library, "listen")
    assert (md_hit.doc_id, md_hit.page, md_hit.section) == ("case-one", None, "Lessons")
    assert md_hit.pack_title == "Sample guidance"


def test_a_page_that_mentions_a_word_often_ranks_above_one_that_mentions_it_once(
    library: sqlite3.Connection,
) -> None:
    hits = search(library, "budgets")

    assert [hit.page for hit in hits] == [8, 9]
    assert hits[0].score > hits[1].score > 0


def test_the_limit_caps_the_number_of_hits(library: sqlite3.Connection) -> None:
    assert len(search(library, "the")) > 2
    assert len(search(library, "the", limit=2)) == 2


def test_pack_and_document_filters_restrict_the_hits(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.build())
    install_pack(store, packs.write(packs.spec(
        pack_id="org.example.other", guide_pages=["Residents of the other pack."])))
    everywhere = {(hit.pack_id, hit.doc_id) for hit in search(store, "residents")}
    assert everywhere == {("org.example.sample", "case-one"), ("org.example.other", "case-one"),
                          ("org.example.other", "guide")}

    only_other = search(store, "residents", pack_id="org.example.other")
    assert {(hit.pack_id, hit.doc_id) for hit in only_other} == {
        ("org.example.other", "case-one"), ("org.example.other", "guide")}
    only_cases = search(store, "residents", doc_id="case-one")
    assert {(hit.pack_id, hit.doc_id) for hit in only_cases} == {
        ("org.example.sample", "case-one"), ("org.example.other", "case-one")}
    [one] = search(store, "residents", pack_id="org.example.other", doc_id="guide")
    assert (one.pack_id, one.doc_id, one.page) == ("org.example.other", "guide", 1)
    assert search(store, "residents", pack_id="org.example.nothing") == []


# --- Snippets --------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "matched"), [
    ("budgets", r"\bbudgets\b"),
    ("moder*", r"\bmoder\w*"),
    ('"social media"', r"\bsocial media\b"),
    ("social media", r"\bsocial\b|\bmedia\b"),
    ("resume", r"\brésumé\b"),
    ("residents", r"\bresidents?\b"),
])
def test_highlights_cover_exactly_the_matched_words(
    library: sqlite3.Connection, typed: str, matched: str
) -> None:
    hits = search(library, typed)
    assert hits
    for hit in hits:
        expected = [m.span() for m in re.finditer(matched, hit.snippet, re.IGNORECASE)]
        assert list(hit.highlights) == expected, hit.snippet
        assert "\n" not in hit.snippet
        assert not re.search("[\ue000\ue001]", hit.snippet)


def test_marker_like_characters_in_the_text_are_not_taken_for_highlights(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    # Private-use characters do turn up in extracted text (icon fonts); the snippet
    # marks must not be confused with them.
    spec = packs.spec()
    spec.files["documents/case-one.md"] = (
        "# Icons\n\nWarning \ue000 sign and \ue001 budgets here.\n".encode())
    install_pack(store, packs.write(spec))

    [hit] = search(store, "budgets")

    assert hit.snippet == "Icons Warning sign and budgets here."
    assert [hit.snippet[start:end] for start, end in hit.highlights] == ["budgets"]


# --- Nothing typed can break the search ------------------------------------------------

FRAGMENTS = st.sampled_from([
    '"', "*", "(", ")", "\x00", "^", "-", "+", ":", ";", "'", "\\", "{", "}", " ", "\t", "\n",
    "NEAR", "NEAR(", "NEAR/2", "AND", "OR", "NOT", "&&", "||", "text:", "pages_fts:",
    "{text}:", "rank:", "😀", "é", "e\u0301", "ﬁ", "\ue000", "\ue001", "\udcff", "\u200b",
    "moder", "budgets", "résumé", "social media", "--", "/*", "DROP TABLE pages;",
])
TYPED = st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=24).map("".join)


@settings(max_examples=300, deadline=None)
@given(typed=st.one_of(st.text(), TYPED))
def test_nothing_typed_makes_search_raise(library: sqlite3.Connection, typed: str) -> None:
    hits = search(library, typed)

    assert isinstance(hits, list)
    assert all(isinstance(hit, SearchHit) for hit in hits)


# --- The command line ------------------------------------------------------------------


def test_cli_search_json_lists_hits_with_where_they_are(
    store: sqlite3.Connection, packs: PackFactory, data_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install_pack(store, packs.build())

    assert cli.main(["--data-dir", str(data_dir), "search", "rules OR listen", "--json"]) == 0

    hits = json.loads(capsys.readouterr().out)
    assert isinstance(hits, list) and len(hits) == 2
    for hit in hits:
        assert {"pack", "doc", "page", "section", "snippet", "score"} <= hit.keys()
        assert hit["pack"] == "org.example.sample"
        assert isinstance(hit["score"], float) and hit["score"] > 0
    by_doc = {hit["doc"]: hit for hit in hits}
    assert (by_doc["guide"]["page"], by_doc["guide"]["section"]) == (2, None)
    assert "house rules" in by_doc["guide"]["snippet"]
    assert (by_doc["case-one"]["page"], by_doc["case-one"]["section"]) == (None, "Lessons")
    assert "listen" in by_doc["case-one"]["snippet"]


def test_cli_search_json_with_nothing_found_is_an_empty_list(
    store: sqlite3.Connection, packs: PackFactory, data_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install_pack(store, packs.build())

    assert cli.main(["--data-dir", str(data_dir), "search", '"(NEAR', "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_cli_pack_list_json_gives_each_pack_and_its_trust(
    store: sqlite3.Connection, packs: PackFactory, data_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install_pack(store, packs.build())

    assert cli.main(["--data-dir", str(data_dir), "pack", "list", "--json"]) == 0

    [listed] = json.loads(capsys.readouterr().out)
    assert {key: listed[key] for key in ("pack", "version", "title", "publisher", "trust")} == {
        "pack": "org.example.sample", "version": "1.0.0", "title": "Sample guidance",
        "publisher": "Test Publisher", "trust": "signed",
    }
