"""Importing notes from any file: it imports, or refuses with a message and the store
is exactly as it was; and what it reports is what it did."""

from __future__ import annotations

import copy
import json
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from desktop_app.core.annotations.store import annotate_quote
from desktop_app.core.errors import CasebookError
from desktop_app.core.export.common import gather
from desktop_app.core.export.jsonld import ImportReport, import_annotations, to_jsonld
from desktop_app.core.library import active_document, open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.core.packs.signing import generate_key
from desktop_app.core.packs.trust import trust_key
from tests.fuzz.strategies import (
    HOSTILE_JSON_TEXTS,
    JSON_VALUES,
    TEXT,
    examples,
    json_text,
    mutated_bytes,
    mutated_json,
)
from tests.helpers import content_fingerprint
from tests.packfactory import PackFactory


def _export(folder: Path) -> dict[str, Any]:
    """A real export: notes on a PDF and a Markdown document of an installed pack."""
    key = generate_key("Fuzz Publisher")
    conn = open_library(folder / "source" / "casebook.sqlite3")
    trust_key(conn, key.public)
    install_pack(conn, PackFactory(folder / "packs", key).build())
    guide = active_document(conn, "org.example.sample", "guide")
    case = active_document(conn, "org.example.sample", "case-one")
    annotate_quote(conn, guide, "Agree house rules", body="A note", tags=["rules"])
    annotate_quote(conn, guide, "alt text", colour="green")
    annotate_quote(conn, case, "Start small", body="Markdown *note*", colour="blue")
    exported = to_jsonld(gather(conn))
    conn.close()
    return exported


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """The store imports go into: the pack installed, and one note already there."""
    folder = tmp_path_factory.mktemp("fuzz-import")
    key = generate_key("Fuzz Publisher")
    conn = open_library(folder / "data" / "casebook.sqlite3")
    trust_key(conn, key.public)
    install_pack(conn, PackFactory(folder / "packs", key).build())
    annotate_quote(conn, active_document(conn, "org.example.sample", "guide"), "house rules")
    yield conn
    conn.close()


with tempfile.TemporaryDirectory(prefix="casebook-fuzz-export-") as _folder:
    EXPORT = _export(Path(_folder))
ITEM = EXPORT["first"]["items"][0]


def fingerprint(conn: sqlite3.Connection) -> dict[str, Any]:
    result = content_fingerprint(conn)
    result["notes_fts"] = conn.execute(
        "SELECT count(*) FROM annotations_fts").fetchone()[0]
    return result


def check(conn: sqlite3.Connection, data: Any) -> None:
    before = fingerprint(conn)
    count = conn.execute("SELECT count(*) FROM annotations").fetchone()[0]
    try:
        report = import_annotations(conn, data)
    except CasebookError as exc:
        assert str(exc)
        assert fingerprint(conn) == before, "a refused import changed the store"
        return
    assert isinstance(report, ImportReport)
    assert min(report.as_json().values()) >= 0
    after = conn.execute("SELECT count(*) FROM annotations").fetchone()[0]
    assert after - count == report.added
    assert report.orphaned <= report.added
    if report.added == 0:
        assert fingerprint(conn) == before
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@st.composite
def fresh(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with new uuids and notes, so duplicates do not hide the checks."""
    document = copy.deepcopy(document)
    for item in document["first"]["items"]:
        item["id"] = f"urn:uuid:{draw(st.uuids())}"
        item["body"] = [{"type": "TextualBody", "value": draw(TEXT) or "n",
                         "purpose": "commenting"}]
    return document


def texts(document: dict[str, Any]) -> st.SearchStrategy[bytes]:
    unescaped = json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return st.sampled_from([json_text(document), unescaped])


@settings(max_examples=examples(250), deadline=None)
@given(st.one_of(JSON_VALUES, JSON_VALUES.map(json_text), HOSTILE_JSON_TEXTS,
                 st.binary(max_size=64)))
# Found by this property: float() of a 400-digit anchor score raised OverflowError.
@example({"type": "Annotation", **{k: v for k, v in ITEM.items() if k != "type"},
          "id": "urn:uuid:6f0c3a39-5b8a-4c51-9d0a-2b7c1a8e0f11",
          "casebook": {**ITEM["casebook"], "anchor_score": 10**400}})
def test_any_json_is_imported_or_refused_leaving_the_store_as_it_was(
    target: sqlite3.Connection, data: Any
) -> None:
    check(target, data)


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_a_damaged_export_is_imported_or_refused_leaving_the_store_as_it_was(
    target: sqlite3.Connection, data: st.DataObject
) -> None:
    document = data.draw(fresh(EXPORT), label="fresh export")
    damaged = data.draw(st.one_of(
        mutated_json(document, max_mutations=3),
        mutated_json(document, max_mutations=2).map(json_text),
        texts(document).flatmap(lambda raw: mutated_bytes(raw, max_mutations=2)),
    ), label="damaged")
    check(target, damaged)


def _with(item: int, selector: int, key: str, value: Any) -> dict[str, Any]:
    """The export under new uuids, one selector value changed (``...``: removed)."""
    document = copy.deepcopy(EXPORT)
    for one in document["first"]["items"]:
        one["id"] = f"urn:uuid:{uuid.uuid4()}"
        one["body"] = [{"type": "TextualBody", "value": "changed", "purpose": "commenting"}]
    changed = document["first"]["items"][item]["target"]["selector"][selector]
    if value is ...:
        del changed[key]
    else:
        changed[key] = value
    return document


@pytest.mark.parametrize("document", [
    # Found by the property above: a page index past 64 bits failed the
    # insert with OverflowError (SQLite INTEGER), after the checks had passed.
    _with(1, 2, "index", 2**64 + 2),
    # and a PageSelector without an index raised KeyError there.
    _with(1, 2, "index", ...),
])
def test_page_indexes_sqlite_cannot_hold_are_refused_and_nothing_changes(
    target: sqlite3.Connection, document: dict[str, Any]
) -> None:
    check(target, document)
    with pytest.raises(CasebookError):
        import_annotations(target, document)


def test_a_lone_surrogate_in_a_note_is_refused_and_nothing_changes(
    target: sqlite3.Connection
) -> None:
    # Found by the property above: JSON can spell "\ud800", which SQLite cannot store;
    # the insert raised UnicodeEncodeError mid-import.
    document = copy.deepcopy(EXPORT)
    for item in document["first"]["items"]:
        item["id"] = f"urn:uuid:{uuid.uuid4()}"
    document["first"]["items"][-1]["body"] = [
        {"type": "TextualBody", "value": "bad \ud800", "purpose": "commenting"}]
    for data in (document, json_text(document)):
        check(target, data)
        with pytest.raises(CasebookError):
            import_annotations(target, data)
