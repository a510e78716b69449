"""Strategies shared by the fuzz properties: JSON-ish values, hostile JSON texts, and
mutations of a valid document (JSON tree or bytes), each the way a damaged disk or a
hostile author would produce them."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import strategies as st


def examples(count: int) -> int:
    """``count`` examples, times CASEBOOK_FUZZ_SCALE for a longer hunt (the default run
    keeps the whole folder within a minute)."""
    return max(1, round(count * float(os.environ.get("CASEBOOK_FUZZ_SCALE", "1"))))


# Any code point, lone surrogates included: a JSON file can spell them as "\ud800".
ANY_CHAR = st.characters(exclude_categories=())
# Pieces hypothesis rarely draws on its own, but hostile files hold.
SPECIAL_TEXT = st.sampled_from([
    "\ud800", "\udc80", "\udfff", "\x00", "\u202e", "\ufeff", "/", "\\", "../", "..",
    " ", "\n", "A" * 1001, "e\u0301", "\ufb01",
])
TEXT = st.one_of(st.text(ANY_CHAR, max_size=20), SPECIAL_TEXT)
NUMBERS = st.one_of(
    st.integers(),
    st.floats(),  # NaN and infinities too: Python's json reads and writes them
    st.sampled_from([0, -1, 1.0, True, False, 2**31, 2**63, -(2**63) - 1, 10**400, 1e308]),
)
JSON_LEAVES = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(ANY_CHAR, max_size=8), children, max_size=4),
    max_leaves=12,
)

# JSON texts that break parsers rather than schemas.
HOSTILE_JSON_TEXTS = st.sampled_from([
    b"", b" ", b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"{", b"}", b"[" * 5000,
    b'{"a":' * 3000, b"1" * 5000, b'{"format": ' + b"9" * 4400 + b"}",
    b'{"format": 1e999}', b'{"format": NaN}', b'"\\ud800"', b'{"\\udc80": 1}',
    b"\x00", b"null", b"[]", b'{"format": 1, "format": 2}', b"\xc3\x28",
])


def json_text(value: Any) -> bytes:
    """``value`` as JSON bytes, surrogates escaped as a file may hold them."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


@st.composite
def mutated_json(draw: st.DrawFn, valid: Any, max_mutations: int = 3) -> Any:
    """``valid`` with a few changes at random places: values replaced by anything,
    keys dropped or added, list items dropped or repeated, strings edited."""
    doc = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, max_mutations))):
        # Not the root (a whole new document is what JSON_VALUES is for), unless nothing
        # else is left: hypothesis favours the first choice, which would waste the run.
        paths = _paths(doc)[1:] or [()]
        path = draw(st.sampled_from(paths))
        if not path:
            doc = draw(JSON_VALUES)
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        child = parent[key]
        # Edits most often: a small change keeps the rest valid, so deeper checks run.
        how = draw(st.sampled_from(["replace", "delete", "add", "duplicate", *["edit"] * 4]))
        if how == "replace":
            parent[key] = draw(JSON_VALUES)
        elif how == "delete":
            del parent[key]
        elif how == "add" and isinstance(child, dict):
            child[draw(st.text(ANY_CHAR, max_size=8))] = draw(JSON_VALUES)
        elif how == "add" and isinstance(child, list):
            child.insert(draw(st.integers(0, len(child))), draw(JSON_VALUES))
        elif how == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(child))
        elif how == "edit" and isinstance(child, str):
            at = draw(st.integers(0, len(child)))
            cut = draw(st.integers(0, 3))
            parent[key] = child[:at] + draw(TEXT) + child[at + cut:]
        elif how == "edit" and isinstance(child, int) and not isinstance(child, bool):
            parent[key] = child + draw(st.sampled_from([-1, 1, -(10**6), 10**6, 2**64]))
        else:
            parent[key] = draw(JSON_VALUES)
    return doc


@st.composite
def mutated_bytes(draw: st.DrawFn, valid: bytes, max_mutations: int = 4) -> bytes:
    """``valid`` with bytes flipped, overwritten, inserted or deleted, cut short or with
    junk appended: damage as a disk, a download or a hand editor makes it."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, max_mutations))):
        how = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "append"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "set" and data:
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[at:at + len(chunk)] = chunk
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif how == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif how == "truncate":
            del data[at:]
        else:
            data += draw(st.binary(min_size=1, max_size=64))
    return bytes(data)
