"""The manifest parser on anything: it returns a Manifest or refuses with a PackError
that can be shown to the user, never another exception."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from desktop_app.core.errors import PackError
from desktop_app.core.packs.manifest import Manifest, manifest_bytes, parse_manifest
from tests.fuzz.strategies import (
    HOSTILE_JSON_TEXTS,
    JSON_VALUES,
    examples,
    json_text,
    mutated_bytes,
    mutated_json,
)

VALID: dict[str, Any] = {
    "format": 1, "id": "org.example.sample", "version": "1.0.0", "title": "Sample guidance",
    "publisher": "Test Publisher", "date": "2026-11-01", "language": "en-GB",
    "licence": "CC BY 4.0", "subtitle": "For councils",
    "site": {"kind": "wordpress", "url": "https://community.example.org"},
    "documents": [
        {"id": "guide", "kind": "guide", "title": "The guide", "path": "documents/guide.pdf",
         "media_type": "application/pdf", "post": 101},
        {"id": "case-one", "kind": "case-study", "title": "Case one",
         "path": "documents/case-one.md", "media_type": "text/markdown", "post": "102"},
    ],
    "files": [
        {"path": "documents/case-one.md", "size": 10, "sha256": "a" * 64},
        {"path": "documents/guide.pdf", "size": 2000, "sha256": "b" * 64},
        {"path": "media/diagram.png", "size": 300, "sha256": "c" * 64},
    ],
}


def check(data: bytes) -> None:
    try:
        manifest = parse_manifest(data)
    except PackError as exc:
        assert str(exc), "a refusal must say what is wrong"
        return
    # Accepted: what the rest of Casebook relies on holds.
    assert isinstance(manifest, Manifest)
    assert manifest.documents
    paths = {entry.path for entry in manifest.files}
    assert len(paths) == len(manifest.files)
    assert all(doc.path in paths for doc in manifest.documents)
    assert all(entry.size >= 0 and len(entry.sha256) == 64 for entry in manifest.files)
    # Every name and title is stored in SQLite and shown: it must be real Unicode text.
    for text in (manifest.id, manifest.title, manifest.publisher, manifest.language,
                 manifest.licence, manifest.subtitle, *paths,
                 *(doc.title for doc in manifest.documents)):
        text.encode("utf-8")


def test_the_valid_manifest_is_accepted() -> None:
    assert parse_manifest(manifest_bytes(VALID)).id == "org.example.sample"


@settings(max_examples=examples(375), deadline=None)
@given(st.one_of(JSON_VALUES.map(json_text), HOSTILE_JSON_TEXTS, st.binary(max_size=64)))
# Found by this property: json.loads raises a plain ValueError (not JSONDecodeError)
# for an integer of more than 4,300 digits.
@example(b'{"format": ' + b"9" * 4400 + b"}")
@example(b"1" * 5000)
def test_any_json_or_bytes_gives_a_manifest_or_a_pack_error(data: bytes) -> None:
    check(data)


def _with_path(path: str) -> dict[str, Any]:
    raw = {**VALID, "files": [*VALID["files"][:2], {**VALID["files"][2], "path": path}]}
    return raw


@settings(max_examples=examples(625), deadline=None)
@given(st.one_of(
    mutated_json(VALID).map(json_text),
    # Unescaped UTF-8, as the builder writes it (a surrogate becomes invalid UTF-8).
    mutated_json(VALID).map(
        lambda raw: json.dumps(raw, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    mutated_bytes(manifest_bytes(VALID)),
))
# Found by this property: a lone surrogate ("\ud800" in the JSON) was accepted in a path
# or title, and later broke the pack reader's name check and the store.
@example(json_text(_with_path("\ud800media/diagram.png")))
@example(json_text({**VALID, "title": "Sample \udc80"}))
def test_a_damaged_valid_manifest_gives_a_manifest_or_a_pack_error(data: bytes) -> None:
    check(data)
