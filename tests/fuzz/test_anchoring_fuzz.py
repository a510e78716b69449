"""Annotation selectors and re-anchoring on any text: describing a span and anchoring
it again in the same text always returns the same place, also after a round trip
through the W3C form; anchoring in an unrelated text never raises and never points
outside that text."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from desktop_app.core.annotations.anchoring import anchor
from desktop_app.core.annotations.describe import describe_span, trim
from desktop_app.core.annotations.model import STATES, Annotation
from desktop_app.core.annotations.text import DocumentText, Unit, normalise_plain
from tests.fuzz.strategies import examples

WORDS = st.sampled_from([
    "the", "council", "social", "media", "policy", "résumé", "naïve", "ﬁre", "ﬂow", "½",
    "x²", "Ａｂｃ", "ǅ", "ß", "İ", "e\u0301", "😀", "👩‍👩‍👧", "\u200b", "\u00ad", "¨", "ﾊﾟ",
    "٣", "עברית", "a", "aa", "aaa", "budgets", "budgets budgets",
])
SPACES = st.sampled_from([" ", "  ", "\n", "\t", "\u00a0", "\u2028", "\u3000", "\r\n", "\x0c"])
PUNCTUATION = st.sampled_from([".", ",", ";", ":", "!", "?", "—", "-", "'", '"', "(", ")",
                               "…", "«", "»", "/", "\\"])
PIECE = st.one_of(WORDS, SPACES, PUNCTUATION, st.text(max_size=3))
PAGE = st.lists(PIECE, max_size=40).map("".join)
PAGES = st.lists(PAGE, min_size=1, max_size=4)


def document(pages: list[str], sha256: str = "") -> DocumentText:
    return DocumentText(pages, [Unit(i, f"Page {i + 1}", f"p{i}") for i in range(len(pages))],
                        sha256)


@st.composite
def document_and_span(draw: st.DrawFn) -> tuple[list[str], int, int]:
    """Pages (as a failing example should show them) and a span of their joined text."""
    pages = draw(PAGES)
    length = len("\n".join(pages))
    start = draw(st.integers(0, length))
    end = draw(st.integers(start, min(length, start + draw(st.sampled_from([5, 40, 400])))))
    return pages, start, end


def round_trip(selectors: tuple[dict, ...]) -> tuple[dict, ...]:
    """The selectors as they come back from an export file."""
    note = Annotation("3f1c1d2e-0000-4000-8000-000000000000", "org.example.p", "doc", "1.0.0",
                      "highlight", selectors, "x", "")
    return Annotation.from_w3c(json.loads(json.dumps(note.to_w3c()))).selectors


@settings(max_examples=examples(750), deadline=None)
@given(document_and_span(), st.booleans())
def test_reanchoring_a_document_against_itself_returns_the_same_place(
    case: tuple[list[str], int, int], via_export: bool
) -> None:
    pages, start, end = case
    text = document(pages)
    wanted = trim(text.text, start, end)
    if wanted[0] == wanted[1]:
        return  # nothing but whitespace: the reader cannot annotate that
    selectors = describe_span(text, start, end)
    if via_export:
        selectors = round_trip(selectors)

    result = anchor(selectors, text)

    assert (result.state, result.start, result.end) == ("anchored", *wanted)
    assert text.text[result.start:result.end] == selectors[0]["exact"]
    # Claiming the same text hash skips matching; it must agree.
    same = anchor(selectors, document(text.text.split("\n"), "h"), made_on_sha256="h")
    assert (same.state, same.start, same.end) == ("anchored", *wanted)


@settings(max_examples=examples(750), deadline=None)
@given(document_and_span(), PAGES)
# Found by this property: a quote longer than the rest of the text by more than the
# alignment's slack left _align no end to try (ValueError from min()).
@example((["thethethe"], 0, 7), ["the"])
def test_anchoring_in_an_unrelated_text_finds_a_valid_place_or_none(
    case: tuple[list[str], int, int], other_pages: list[str]
) -> None:
    pages, start, end = case
    text = document(pages)
    if not text.text[start:end].strip():
        return
    other = document(other_pages)

    selectors = describe_span(text, start, end)
    result = anchor(selectors, other)

    assert result.state in STATES
    assert 0.0 <= result.score <= 1.0
    if result.state == "orphaned":
        assert result.start is None and result.end is None
    else:
        assert 0 <= result.start <= result.end <= len(other.text)
    if result.method == "exact":
        # An exact match: the quote is there, give or take whitespace and compatibility
        # forms (a match may start inside a ligature, so "in", not "==").
        assert normalise_plain(selectors[0]["exact"]) in normalise_plain(
            other.text[result.start:result.end])


@settings(max_examples=examples(375), deadline=None)
@given(document_and_span(), PAGES, st.integers(-5, 10**6), st.integers(-5, 10**6))
# Found by this property: the old-position check sliced without bounds, so an end past
# the text (or a negative start) came back as the place.
@example((["the end"], 4, 7), ["the end"], 4, 99)
@example((["the end"], 4, 7), ["the end"], -3, 7)
def test_anchoring_with_any_old_position_never_raises(
    case: tuple[list[str], int, int], other_pages: list[str], old_start: int, old_end: int
) -> None:
    pages, start, end = case
    text = document(pages)
    if not text.text[start:end].strip():
        return
    quote, *_rest = describe_span(text, start, end)
    selectors = (quote, {"type": "TextPositionSelector", "start": old_start, "end": old_end})
    other = document(other_pages)

    result = anchor(selectors, other)

    assert result.state in STATES
    if result.found:
        assert 0 <= result.start <= result.end <= len(other.text)
