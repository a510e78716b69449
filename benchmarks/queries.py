"""The fixed benchmark queries, and their nearest pdfgrep equivalents.

The list covers every kind of input ``desktop_app.core.search`` parses, against words
that match from almost every page down to none, so the latency percentiles are not
decided by one lucky shape of query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    text: str  # as a user types it into Casebook
    kind: str


QUERIES: tuple[Query, ...] = (
    Query("council", "common word"),
    Query("residents", "common word"),
    Query("information", "common word"),
    Query("the", "every page"),
    Query("moderation", "topic word"),
    Query("accessibility", "topic word"),
    Query("consultation", "topic word"),
    Query("budget", "topic word"),
    Query("ombudsman", "rare word"),
    Query("defamation", "rare word"),
    Query("filibuster", "rare word"),
    Query("xylophone", "no match"),
    Query("council budget", "two words"),
    Query("residents consultation", "two words"),
    Query("moderation comments", "two words"),
    Query("accessibility captions", "two words"),
    Query('"social media"', "phrase"),
    Query('"house rules"', "phrase"),
    Query('"alt text"', "phrase"),
    Query('"freedom of information"', "phrase"),
    Query('"council tax"', "phrase"),
    Query("consult*", "prefix"),
    Query("access*", "prefix"),
    Query("moder*", "prefix"),
    Query("res*", "prefix"),
    Query("budget OR spending", "OR"),
    Query("ombudsman OR defamation", "OR"),
    Query("twitter OR facebook OR instagram", "OR"),
    Query("council -budget", "exclusion"),
    Query("moderation -comments", "exclusion"),
    Query("residents -council", "exclusion"),
    Query('"social media" moderation -twitter', "mixed"),
)

_TOKEN = re.compile(r'-?"[^"]*"|\S+')


@dataclass(frozen=True)
class GrepPattern:
    pattern: str  # a POSIX extended regex for ``pdfgrep -i``
    exact: bool  # False: pdfgrep finds a superset (it cannot AND or exclude per page)


def pdfgrep_pattern(text: str) -> GrepPattern | None:
    """The pdfgrep regex closest to a Casebook query, or None if nothing is left to find.

    pdfgrep matches a regex line by line, so terms that must all be on one page, and
    exclusions, have no equivalent: the pattern then keeps only the first group of
    terms. pdfgrep still reads every page, so its time is barely affected.
    """
    groups: list[list[str]] = []
    join_next, exact = False, True
    for token in _TOKEN.findall(text):
        if token == "OR":
            join_next = bool(groups)
            continue
        if token.startswith("-"):
            exact = False
            continue
        pattern = _term_pattern(token)
        if join_next:
            groups[-1].append(pattern)
        else:
            groups.append([pattern])
        join_next = False
    if not groups:
        return None
    return GrepPattern("|".join(groups[0]), exact and len(groups) == 1)


def _term_pattern(token: str) -> str:
    # Casebook stems words (porter), so "council" also finds "councils": matching the
    # start of a word is the closest a regex gets without a stemmer.
    words = re.findall(r"[^\W_]+", token)
    return r"\<" + "[[:space:]]+".join(words)
