"""One text normalisation for everything Casebook matches: text as the page shows it.

A typeset PDF's text layer is not what a reader sees. TeX and most DTP tools emit
ligature glyphs ("ﬀ" in "staﬀ", "ﬁ" in "proﬁle"), soft hyphens, words broken across
lines with a hyphen, typographic quotes, no-break spaces and compatibility forms. A
reader types "staff", "profile", "it's". So every text Casebook stores, indexes,
finds, quotes or re-anchors goes through :func:`normalise` first, and the stored
page text *is* the normalised text: one form, everywhere.

What changes (and why each is safe for meaning):

- ligatures (U+FB00-FB06) and other compatibility characters become what they
  stand for (NFKC), except forms whose compatibility mapping changes meaning:
  superscripts and subscripts ("m²" is not "m2"), fractions, circled and squared
  forms, and mappings that would invent a space;
- soft hyphens, zero-width spaces, word joiners and byte-order marks are dropped;
- a word broken at a line end with a hyphen ("communi-\\ncation") is joined, as
  pdf.js's find and pdftotext do: a hyphen after a letter, at the end of a line,
  before a lowercase letter. The line break goes with it; callers that need the
  lines keep them through the offset map (see :attr:`NormalText.origin`);
- typographic single and double quotes become the straight ones;
- a base letter followed by a combining accent becomes the precomposed letter (NFC).

Case and accents are not removed here: stored text keeps them for display, and
search (FTS5's ``remove_diacritics``) and find (:func:`fold`) ignore them.

Every output character knows the input offset it came from, so a highlight made
on the normalised text still covers exactly the glyphs on the page. No Qt and no
PyMuPDF here: the core, the render worker and the window all use this module.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from dataclasses import dataclass, field
from functools import lru_cache

# Search marks matched words in snippets with these private-use characters; icon
# fonts can put them in extracted text, so stored text never holds them.
SNIPPET_MARKS = ("\ue000", "\ue001")
NORMALISATION = "norm1"  # recorded in documents.extractor: the rules above, version 1

_DROPPED = frozenset("\u00ad\u200b\u2060\ufeff" + "".join(SNIPPET_MARKS))
_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
           "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'}
# Compatibility tags whose NFKC mapping keeps the meaning (unicodedata.decomposition).
_SAFE_TAGS = frozenset(("<compat>", "<font>", "<noBreak>", "<wide>", "<narrow>",
                        "<initial>", "<medial>", "<final>", "<isolated>"))
_HYPHENS = "-\u2010"
# Characters that may need more than copying: anything outside printable ASCII, and
# a hyphen before a line break. Plain ASCII runs between them are copied as they are.
_SPECIAL = re.compile(r"[-\u2010]\n|[^\n\t\r\x20-\x7e]")


@dataclass(frozen=True)
class NormalText:
    """Normalised text, and for each of its characters the input offset it came from."""

    text: str
    origin: array  # array('q'): origin[i] is the input offset of text[i]
    source_length: int
    # Output offsets of letters composed with the accents after them ("e" + U+0301),
    # and the input offset after the last accent: such a letter covers more input.
    composed: dict[int, int] = field(default_factory=dict)

    def source_end(self, index: int) -> int:
        """The input offset just after the characters text[index] came from."""
        return self.composed.get(index, self.origin[index] + 1)

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """The input span [start, end) that the output span [start, end) came from."""
        if start >= len(self.text):
            return self.source_length, self.source_length
        source_end = self.source_end(end - 1) if end > start else self.origin[start]
        return self.origin[start], source_end


def normalise(text: str, *, join_hyphenated: bool = True) -> NormalText:
    """``text`` as Casebook stores and matches it, with the offset map back to ``text``.

    ``join_hyphenated=False`` for text whose line breaks are not the printed lines
    (Markdown's HTML, where a line break in the source is a space on screen)."""
    out: list[str] = []
    origin = array("q")
    composed: dict[int, int] = {}
    copied = 0  # input offset up to which plain characters have been copied
    for match in _SPECIAL.finditer(text):
        at = match.start()
        if at < copied:
            continue  # the line break after a soft hyphen, dropped with it
        if at > copied:
            out.append(text[copied:at])
            origin.extend(range(copied, at))
        copied = match.end()
        piece = match.group()
        if len(piece) == 2:  # a hyphen before a line break
            if join_hyphenated and _joins_broken_word(text, at):
                continue  # both dropped: the word is whole again
            out.append(piece)
            origin.extend((at, at + 1))
            continue
        char = piece
        if char in _DROPPED:
            if char == "\u00ad" and text.startswith("\n", at + 1):
                copied = at + 2  # a discretionary hyphen that broke a line: both go
            continue
        if unicodedata.combining(char) and out and _compose(out, char):
            composed[len(origin) - 1] = at + 1
            continue
        replacement = _replacement(char)
        out.append(replacement)
        origin.extend([at] * len(replacement))
    if copied < len(text):
        out.append(text[copied:])
        origin.extend(range(copied, len(text)))
    return NormalText("".join(out), origin, len(text), composed)


def normal(text: str, *, join_hyphenated: bool = True) -> str:
    """Only the normalised text (a query, a quote, a page for the index)."""
    if text.isascii() and "-\n" not in text:
        return text
    return normalise(text, join_hyphenated=join_hyphenated).text


def is_blank(char: str) -> bool:
    """White space, or a character normalisation drops (a soft hyphen, a zero-width
    space): nothing a reader could point at."""
    return char.isspace() or char in _DROPPED


def _joins_broken_word(text: str, hyphen: int) -> bool:
    before = text[hyphen - 1] if hyphen > 0 else ""
    after = text[hyphen + 2] if hyphen + 2 < len(text) else ""
    return before.isalpha() and after.isalpha() and after.islower()


def _compose(out: list[str], mark: str) -> bool:
    """Fold a combining mark into the letter before it, where Unicode has one character
    for both (e + U+0301 -> é). The composed letter keeps the base letter's origin."""
    last = out[-1]
    composed = unicodedata.normalize("NFC", last[-1] + mark)
    if len(composed) != 1:
        return False
    out[-1] = last[:-1] + composed
    return True


@lru_cache(maxsize=4096)
def _replacement(char: str) -> str:
    if char in _QUOTES:
        return _QUOTES[char]
    decomposition = unicodedata.decomposition(char)
    if not decomposition.startswith("<"):
        return unicodedata.normalize("NFC", char)
    tag = decomposition.split(" ", 1)[0]
    if tag not in _SAFE_TAGS:
        return char
    mapped = unicodedata.normalize("NFKC", char)
    if not mapped or (mapped[0].isspace() and len(mapped) > 1):
        return char  # a spacing accent ("¨" -> " ̈"): keep it as printed
    return "".join(_QUOTES.get(c, c) for c in mapped)


# -- folding for find -------------------------------------------------------------------

_WHITE_SPACE = re.compile(r"\s+")

def fold(text: str) -> NormalText:
    """``text`` (already normalised) folded for find: no case, no accents, and every run
    of white space one space, so "Limited  staff\\ntime" finds "limited staff time".
    The map leads back to ``text``."""
    out: list[str] = []
    origin = array("q")
    for index, char in enumerate(text):
        if char.isspace():
            if out and out[-1] == " ":
                continue
            out.append(" ")
            origin.append(index)
            continue
        for piece in _folded(char):
            out.append(piece)
            origin.append(index)
    return NormalText("".join(out), origin, len(text))


def fold_query(text: str) -> str:
    """What the reader typed in the find bar, folded the same way (ends trimmed)."""
    return fold(normal(text)).text.strip()


@lru_cache(maxsize=8192)
def _folded(char: str) -> str:
    if char.isascii():
        return char.lower()
    decomposed = unicodedata.normalize("NFD", char.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def may_contain(text: str, query: str) -> bool:
    """False only when ``text`` (normalised) surely does not hold ``query`` as find
    matches it; cheap for plain-ASCII text (a page of most manuals), where folding is
    lowering and white space runs become one space, as in :func:`fold`."""
    needle = fold_query(query)
    if not needle:
        return False
    if not text.isascii():
        return True  # let the full fold decide
    return needle in _WHITE_SPACE.sub(" ", text.lower())


def find_all(haystack: NormalText, query: str, limit: int = 10_000) -> list[tuple[int, int]]:
    """Every occurrence of ``query`` in the text ``haystack`` was folded from, as
    [start, end) spans of that text (not overlapping, in order)."""
    needle = fold_query(query)
    if not needle:
        return []
    spans: list[tuple[int, int]] = []
    at = haystack.text.find(needle)
    while at != -1 and len(spans) < limit:
        spans.append(haystack.to_source(at, at + len(needle)))
        at = haystack.text.find(needle, at + len(needle))
    return spans

