"""The words the benchmark corpus is written in.

Real English words carry the queries; a few thousand generated, English-looking words
fill out the long tail, so that the index has a realistic number of distinct terms and
single-word queries match anything from a handful of pages to nearly all of them.
"""

from __future__ import annotations

import random


def _words(text: str) -> list[str]:
    """Whitespace-separated words, in order, without repeats (lists are easier to
    edit as running text)."""
    return list(dict.fromkeys(text.split()))


# The most frequent words of English prose: they appear on nearly every page.
FUNCTION_WORDS = _words("""
the of and to a in is that for it as with be on not this by are or from at
which an have will can we you they their your our its has been more if all
when there would should may also other these what who how about into than
them some any each but so out only most such over very where between through
must do use make well before after both while because those many same first
""")

# Common content words: frequent, spread over all topics.
COMMON_WORDS = _words("""
people service services work time information community staff public local
support need help team plan approach example way part place year group
government organisation process report policy online website page content
channel channels message messages post posts question questions answer answers
change changes people's user users time project projects guide guidance share
shared sharing engage engagement network networks feedback response responses
area areas issue issues level levels data digital platform platforms account
accounts review reviewed evidence outcome outcomes member members officer officers
manager managers partner partners voluntary sector national regional department
meeting meetings event events decision decisions practice practices standard
standards training skills confidence trust relationship relationships audience
audiences conversation conversations campaign campaigns resource resources cost
costs benefit benefits value risk risks problem problems solution solutions
result results measure measures target targets priority priorities strategy
strategies objective objectives clear simple useful important difficult
different possible available regular general specific practical effective
successful positive negative open early recent current future social local
wider whole small large new good better best right wrong quickly carefully
often usually always never sometimes already still together however therefore
instead perhaps rather especially simply directly clearly actually particularly
write read listen learn explain describe include consider understand develop
improve provide create manage deliver agree decide respond publish reply ask
check test try start stop continue follow keep find show tell give take
""")

# The subject of the guides, in topics: a page is about one or two of them, so
# these words cluster the way they do in real guidance. Entries with a space are
# phrases that the "quoted phrase" queries look for.
TOPICS: dict[str, list[str]] = {
    "council": [
        "council", "councils", "councillor", "councillors", "cabinet", "ward", "wards",
        "committee", "scrutiny", "elected", "members", "mayor", "town hall", "council tax",
        "local authority", "parish", "district", "county", "borough", "democratic",
    ],
    "residents": [
        "residents", "resident", "citizens", "households", "neighbourhood", "tenants",
        "families", "young people", "older people", "carers", "volunteers", "community groups",
        "parents", "visitors", "businesses", "local people", "street", "estate",
    ],
    "moderation": [
        "moderation", "moderate", "moderator", "moderators", "comments", "comment",
        "house rules", "abuse", "abusive", "harassment", "block", "blocking", "report",
        "remove", "hide", "troll", "trolls", "offensive", "escalate", "screenshot",
    ],
    "accessibility": [
        "accessibility", "accessible", "alt text", "captions", "subtitles", "screen reader",
        "contrast", "plain english", "readable", "disabled", "impairment", "transcript",
        "font", "colour", "descriptive", "inclusive", "hearing", "sight",
    ],
    "consultation": [
        "consultation", "consult", "consulted", "consulting", "survey", "surveys",
        "questionnaire", "responses", "proposal", "proposals", "options", "draft",
        "deadline", "workshop", "workshops", "focus group", "listening", "co-production",
    ],
    "budget": [
        "budget", "budgets", "spending", "savings", "funding", "finance", "financial",
        "grant", "grants", "cuts", "income", "invest", "investment", "council tax",
        "value for money", "procurement", "contract", "contracts", "pounds",
    ],
    "media": [
        "social media", "twitter", "facebook", "instagram", "youtube", "video", "videos",
        "photo", "photos", "livestream", "followers", "hashtag", "newsletter", "press",
        "journalists", "headline", "reach", "timeline", "analytics", "algorithm",
    ],
    "governance": [
        "policy", "governance", "legal", "law", "data protection", "privacy", "personal data",
        "freedom of information", "retention", "records", "election", "purdah", "impartial",
        "complaint", "complaints", "evidence", "audit", "accountable", "transparency",
    ],
}

# Very rare words: each is put on a page with the given probability, so a query for
# one matches tens of pages out of ten thousand, not hundreds.
RARE_WORDS: dict[str, float] = {
    "ombudsman": 0.004,
    "defamation": 0.002,
    "injunction": 0.001,
    "referendum": 0.003,
    "filibuster": 0.0005,
}

_ONSETS = _words("b br c ch cl cr d dr f fl fr g gl gr h j k l m n p pl pr r s sc sh sl sp st t th "
                 "tr v w")
_VOWELS = _words("a e i o u ai ea ee ie oa ou")
_CODAS = ["", "", "", "n", "r", "l", "s", "t", "m", "nd", "st", "rk", "ck", "nt", "ng"]
_SUFFIXES = ["", "", "", "", "ment", "tion", "ly", "er", "ing", "ous", "ness", "al", "able", "ed"]


def generated_words(count: int, seed: int) -> list[str]:
    """``count`` distinct English-looking made-up words, the same for the same seed."""
    rng = random.Random(f"vocabulary-{seed}")
    taken = set(FUNCTION_WORDS) | set(COMMON_WORDS) | set(RARE_WORDS)
    words: list[str] = []
    while len(words) < count:
        syllables = rng.choice((1, 2, 2, 2, 3))
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
            for _ in range(syllables)
        ) + rng.choice(_SUFFIXES)
        if 3 <= len(word) <= 11 and word not in taken:
            taken.add(word)
            words.append(word)
    return words


def zipf_vocabulary(seed: int, tail: int = 3000) -> list[str]:
    """All words of the corpus in rank order (most frequent first) for Zipf sampling.

    Function words lead; common words are spread through the first few hundred ranks
    and the generated words fill the tail, as in real text where content words are
    frequent but nowhere near "the".
    """
    rng = random.Random(f"ranks-{seed}")
    common = COMMON_WORDS[:]
    rng.shuffle(common)
    tail_words = generated_words(tail, seed)
    ranked = FUNCTION_WORDS[:]
    # Interleave common words with the start of the tail: ranks ~100-600 mixed.
    mixed = common + tail_words[: len(common)]
    rng.shuffle(mixed)
    ranked += mixed + tail_words[len(common):]
    return ranked
