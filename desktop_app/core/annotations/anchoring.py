"""Finding an annotation's text again in a new version of its document.

Follows Hypothesis (``match-quote.ts``, ``pdf.ts``): (1) the same extracted text
means nothing moved; (2) the old position, if the quote is still there with its
context; (3) every exact occurrence of the quote, ranked by how well the prefix
and suffix around it match and how close it is to the old position; (4) an
approximate match. A candidate scores ``(50q + 20p + 20s + 2pos) / 92``: q is
the quote's similarity (1 - edits / length), p and s the context's, pos the
closeness to the old position.

Matching runs on normalised text (NFKC, whitespace removed: re-flowed PDF text
moves line breaks); offsets are mapped back to the raw text.

Approximate search is seed-and-extend, since a whole-document edit-distance scan
per annotation would not keep 1,000 annotations on a 500-page PDF in seconds:
exact pieces of the quote vote for where it starts, and only the few best places
are aligned with rapidfuzz's Levenshtein (C++).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein

from desktop_app.core.annotations.text import DocumentText, normalise_plain

ANCHORED_SCORE = 0.9  # with an exact quote
FUZZY_SCORE = 0.75
# An exact quote this long that occurs once in the new text is where it was, even
# when the words around it were edited: there is nothing else it could mean, and
# asking the reader to confirm it would only teach them to ignore the marker.
UNIQUE_QUOTE_CHARS = 20
MAX_EXACT_CANDIDATES = 200
MAX_SEED_HITS = 400  # a piece found more often than this says nothing about where
LOCAL_REACH = 20_000  # normalised characters either side of the old place, searched first


@dataclass(frozen=True)
class AnchorResult:
    state: str  # anchored | fuzzy | orphaned
    start: int | None  # raw offsets in the new text; None when orphaned
    end: int | None
    score: float
    method: str  # unchanged | position | exact | approximate | none

    @property
    def found(self) -> bool:
        return self.start is not None


_ORPHAN = AnchorResult("orphaned", None, None, 0.0, "none")


@dataclass(frozen=True)
class _Quote:
    exact: str  # normalised
    prefix: str
    suffix: str
    hint: int | None  # expected normalised start in the new text


def anchor(
    selectors: Sequence[dict[str, Any]], text: DocumentText, *, made_on_sha256: str | None = None
) -> AnchorResult:
    """Where the text described by ``selectors`` is in ``text``, and how sure that is."""
    quote = _selector(selectors, "TextQuoteSelector")
    position = _selector(selectors, "TextPositionSelector")
    if quote is None or not quote.get("exact"):
        return _ORPHAN
    exact = quote["exact"]
    if position is not None and made_on_sha256 and made_on_sha256 == text.sha256:
        return AnchorResult("anchored", position["start"], position["end"], 1.0, "unchanged")

    norm = text.normalised
    target = _Quote(
        normalise_plain(exact), normalise_plain(quote.get("prefix", "")),
        normalise_plain(quote.get("suffix", "")),
        norm.to_norm(position["start"]) if position is not None else None,
    )
    if not target.exact:
        return _ORPHAN

    # Bounds first: a slice clamps, so an end past the text (or a negative start, which
    # counts from the end) matched and came back as a place outside it (tests/fuzz).
    if position is not None \
            and 0 <= position["start"] <= position["end"] <= len(text.text) \
            and text.text[position["start"]:position["end"]] == exact:
        start = norm.to_norm(position["start"])
        score = _score(norm.text, target, start, start + len(target.exact), errors=0)
        if score >= ANCHORED_SCORE:
            return AnchorResult("anchored", position["start"], position["end"], score,
                                "position")

    exact_matches = _exact_candidates(norm.text, target)
    best = _best(norm.text, target, exact_matches)
    if best is not None and len(exact_matches) == 1 and len(target.exact) >= UNIQUE_QUOTE_CHARS:
        score, start, end, _errors = best
        raw_start, raw_end = norm.to_raw(start, end)
        return AnchorResult("anchored", raw_start, raw_end, round(score, 4), "exact")
    if best is None or best[0] < FUZZY_SCORE:
        approximate = _best(norm.text, target, _approximate_candidates(norm.text, target))
        if approximate is not None and (best is None or approximate[0] > best[0]):
            best = approximate
    if best is None:
        return _ORPHAN
    score, start, end, errors = best
    if errors == 0 and score >= ANCHORED_SCORE:
        state = "anchored"
    elif score >= FUZZY_SCORE:
        state = "fuzzy"
    else:
        return AnchorResult("orphaned", None, None, round(score, 4), "none")
    raw_start, raw_end = norm.to_raw(start, end)
    return AnchorResult(state, raw_start, raw_end, round(score, 4),
                        "exact" if errors == 0 else "approximate")


def _selector(selectors: Sequence[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((s for s in selectors if s.get("type") == kind), None)


def _score(text: str, quote: _Quote, start: int, end: int, errors: int) -> float:
    q = 1.0 - errors / len(quote.exact)
    p = _similarity(quote.prefix, text[max(0, start - len(quote.prefix)):start])
    s = _similarity(quote.suffix, text[end:end + len(quote.suffix)])
    pos = 1.0 if quote.hint is None or not text else 1.0 - abs(start - quote.hint) / len(text)
    return (50 * q + 20 * p + 20 * s + 2 * pos) / 92


def _similarity(context: str, found: str) -> float:
    # No recorded context (start or end of the document) counts as a match.
    if not context:
        return 1.0
    return Levenshtein.normalized_similarity(context, found)


def _best(
    text: str, quote: _Quote, candidates: Iterable[tuple[int, int, int]]
) -> tuple[float, int, int, int] | None:
    best = None
    for start, end, errors in candidates:
        score = _score(text, quote, start, end, errors)
        if best is None or score > best[0]:
            best = (score, start, end, errors)
    return best


def _exact_candidates(text: str, quote: _Quote) -> list[tuple[int, int, int]]:
    found, at = [], text.find(quote.exact)
    while at != -1:
        found.append(at)
        at = text.find(quote.exact, at + 1)
    if len(found) > MAX_EXACT_CANDIDATES:
        # A very common quote: only the places nearest the old one are worth scoring.
        hint = quote.hint or 0
        found = sorted(found, key=lambda start: abs(start - hint))[:MAX_EXACT_CANDIDATES]
    return [(start, start + len(quote.exact), 0) for start in found]


def _approximate_candidates(text: str, quote: _Quote) -> list[tuple[int, int, int]]:
    """Near matches with at most min(256, len/2) edits, near the old place first."""
    length = len(quote.exact)
    max_errors = min(256, length // 2)
    if max_errors == 0:
        return []
    hint = quote.hint if quote.hint is not None else 0
    reach = max(LOCAL_REACH, 10 * length)
    local = (max(0, hint - reach), min(len(text), hint + length + reach))
    candidates = _seeded(text, quote.exact, max_errors, *local)
    if not any(e <= length * (1 - _MIN_Q) for _s, _e, e in candidates) and local != (0, len(text)):
        candidates += _seeded(text, quote.exact, max_errors, 0, len(text))
    return candidates


# The lowest quote similarity that could still reach FUZZY_SCORE with perfect context.
_MIN_Q = (92 * FUZZY_SCORE - 42) / 50


def _seeded(
    text: str, exact: str, max_errors: int, lo: int, hi: int
) -> list[tuple[int, int, int]]:
    length = len(exact)
    piece = max(3, min(12, length // 6))
    votes: dict[int, int] = {}
    for offset in range(0, max(1, length - piece + 1), piece):
        seed = exact[offset:offset + piece]
        hits, at = [], text.find(seed, lo, hi)
        while at != -1 and len(hits) <= MAX_SEED_HITS:
            hits.append(at - offset)
            at = text.find(seed, at + 1, hi)
        if len(hits) > MAX_SEED_HITS:
            continue
        for diagonal in hits:
            votes[diagonal] = votes.get(diagonal, 0) + 1
    if not votes:
        return []
    # Neighbouring diagonals (an insertion or deletion shifts them) are one place.
    clusters: list[list[int]] = []
    for diagonal in sorted(votes):
        if clusters and diagonal - clusters[-1][-1] <= max_errors:
            clusters[-1].append(diagonal)
        else:
            clusters.append([diagonal])
    ranked = sorted(clusters, key=lambda c: -sum(votes[d] for d in c))[:5]
    found = []
    for cluster in ranked:
        window_start = max(0, cluster[0] - max_errors)
        window = text[window_start:cluster[-1] + length + max_errors]
        aligned = _align(exact, window)
        if aligned is not None and aligned[2] <= max_errors:
            found.append((window_start + aligned[0], window_start + aligned[1], aligned[2]))
    return found


def _align(exact: str, window: str) -> tuple[int, int, int] | None:
    """The span of ``window`` closest to the quote, and its edit distance.

    A global alignment (opcodes) gives a rough span; it can wander onto stray
    matching characters at either end, so each end is then moved, in turn, to where
    the edit distance is least (a semi-global alignment, as Hypothesis's Myers search
    gives, done on a window a little longer than the quote)."""
    matched = [op for op in Levenshtein.opcodes(exact, window) if op.tag == "equal"]
    if not matched:
        return None
    length = len(exact)
    start = max(0, matched[0].dest_start - matched[0].src_start)
    end = min(len(window), matched[-1].dest_end + length - matched[-1].src_end)
    distance = Levenshtein.distance(exact, window[start:end])
    slack = min(max(length // 2, 1), max(3, 2 * distance))
    for _ in range(2):
        # At most len(window): a window shorter than the quote less the slack (near the
        # end of the text) left no end to try, and min() raised (tests/fuzz).
        ends = range(min(max(start + 1, start + length - slack), len(window)),
                     min(len(window), start + length + slack) + 1)
        distance, _gap, end = min(
            (Levenshtein.distance(exact, window[start:e]), abs(e - start - length), e)
            for e in ends)
        starts = range(max(0, end - length - slack), max(0, min(end - 1, end - length + slack)) + 1)
        distance, _gap, start = min(
            (Levenshtein.distance(exact, window[s:end]), abs(end - s - length), s)
            for s in starts)
    return start, end, distance
