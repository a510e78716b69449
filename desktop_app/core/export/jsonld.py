"""Notes as W3C Web Annotations (JSON-LD), and importing them back.

Export: one ``AnnotationCollection`` whose embedded first ``AnnotationPage`` holds
every annotation's :meth:`Annotation.to_w3c` form.

Import, all or nothing:

- The file is read whole and checked first (size, JSON, shape, every item);
  anything malformed refuses the file with a :class:`NoteImportError` and the store
  is not touched. Web annotations that are not Casebook's (their target is a web
  page, say) are not malformed, but Casebook has nowhere to put them: they are
  counted as ``refused`` and the rest is imported.
- Duplicates are skipped: a uuid already in the store (deleted ones too: undo
  brings those back), or the same target and body as a note already there.
- Each note is re-anchored onto the installed version of its pack, as an update
  would move it (matching and PDF rectangles happen before the write transaction).
- A note whose pack is not installed is kept, marked orphaned, rather than
  refused: the note is the reader's work and may exist nowhere else, and
  installing the pack later re-anchors orphans like any update does.
- Everything is written in one transaction.
"""

from __future__ import annotations

import json
import math
import sqlite3
import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app import __version__
from desktop_app.core.annotations.model import (
    COLOURS,
    KINDS,
    STATES,
    W3C_CONTEXT,
    Annotation,
    AnnotationError,
)
from desktop_app.core.annotations.reanchor import anchor_onto, documents_from_store
from desktop_app.core.annotations.store import insert_annotation, writing
from desktop_app.core.errors import CasebookError
from desktop_app.core.export.common import NoteExport
from desktop_app.core.store.db import utc_now

MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_IMPORT_ITEMS = 100_000
MAX_TEXT = 1_000_000  # characters in one quote or note: far beyond any real one
MAX_NAME = 300  # pack and document ids, versions, tags


class NoteImportError(CasebookError):
    """An annotation file was refused; nothing in the store was changed."""


@dataclass(frozen=True)
class ImportReport:
    added: int = 0
    skipped_duplicates: int = 0
    orphaned: int = 0  # added, but not found in (or no installed version of) their pack
    refused: int = 0  # web annotations that are not Casebook's

    def as_json(self) -> dict[str, int]:
        return {"added": self.added, "skipped_duplicates": self.skipped_duplicates,
                "orphaned": self.orphaned, "refused": self.refused}


def to_jsonld(export: NoteExport) -> dict[str, Any]:
    """The export as a W3C AnnotationCollection with its one page embedded."""
    items = [annotation.to_w3c() for annotation in export.annotations]
    return {
        "@context": W3C_CONTEXT,
        "id": f"urn:uuid:{uuid_module.uuid4()}",
        "type": "AnnotationCollection",
        "label": export.heading,
        "total": len(items),
        "generator": {"type": "Software", "name": f"Casebook {__version__}"},
        "generated": utc_now(),
        "first": {
            "id": f"urn:uuid:{uuid_module.uuid4()}",
            "type": "AnnotationPage",
            "startIndex": 0,
            "items": items,
        },
    }


def dumps(export: NoteExport) -> bytes:
    return json.dumps(to_jsonld(export), indent=2, ensure_ascii=False).encode("utf-8")


def read_import_file(path: Path) -> bytes:
    """The file's bytes, refusing one too large before reading it."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise NoteImportError(_too_large(size))
        with open(path, "rb") as stream:
            return stream.read(MAX_IMPORT_BYTES + 1)  # a file growing meanwhile is caught later
    except OSError as exc:
        raise NoteImportError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def import_annotations(
    conn: sqlite3.Connection, data: bytes | str | Mapping[str, Any]
) -> ImportReport:
    """Import a W3C annotation file (bytes, text, or parsed JSON); see the module docs."""
    annotations, refused = parse(data)
    existing_uuids = {row[0] for row in conn.execute("SELECT uuid FROM annotations")}
    existing = _target_keys(conn, {a.pack_id for a in annotations})
    fresh: list[Annotation] = []
    seen: set[str] = set()
    batch: set[tuple[str, ...]] = set()
    skipped = 0
    for annotation in annotations:
        key = _target_key(annotation)
        if annotation.uuid in existing_uuids or annotation.uuid in seen \
                or key in existing or key in batch:
            skipped += 1
            continue
        seen.add(annotation.uuid)
        batch.add(key)
        fresh.append(annotation)

    placed, history = _place(conn, fresh)
    added = orphaned = 0
    with writing(conn):
        batch.clear()
        for annotation in placed:
            # Once on the installed version it may turn out to be a note already there.
            key = _target_key(annotation)
            # insert_annotation is False for a uuid saved by another window since the check.
            if key in existing or key in batch or not insert_annotation(conn, annotation):
                skipped += 1
                continue
            batch.add(key)
            added += 1
            orphaned += annotation.anchor_state == "orphaned"
            if annotation.uuid in history:
                # Its anchors on the version it was made on, so a rollback restores them.
                conn.execute(
                    "INSERT OR REPLACE INTO annotation_history (uuid, doc_version, selectors, "
                    "extractor, text_sha256, anchor_state, anchor_score, recorded_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (annotation.uuid, *history[annotation.uuid], utc_now()))
    return ImportReport(added, skipped, orphaned, refused)


def parse(data: bytes | str | Mapping[str, Any]) -> tuple[list[Annotation], int]:
    """Every Casebook annotation in the file, checked, and how many items were foreign."""
    if isinstance(data, bytes | str):
        if len(data) > MAX_IMPORT_BYTES:
            raise NoteImportError(_too_large(len(data)))
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise NoteImportError(f"This is not a JSON file ({exc}); nothing was imported.") \
                from None
    items = _items(data)
    if len(items) > MAX_IMPORT_ITEMS:
        raise NoteImportError(f"The file holds {len(items):,} annotations; the limit is "
                              f"{MAX_IMPORT_ITEMS:,}. Nothing was imported.")
    annotations, refused = [], 0
    for number, item in enumerate(items, 1):
        if _is_foreign(item):
            refused += 1
            continue
        try:
            annotations.append(_checked(Annotation.from_w3c(item)))
        # OverflowError: from_w3c's float() of a score like 1e400 written as an integer
        # (tests/fuzz/test_jsonld_import_fuzz.py).
        except (AnnotationError, ValueError, TypeError, OverflowError) as exc:
            message = str(exc).rstrip(".")
            raise NoteImportError(f"Annotation {number} of the file cannot be read: {message}. "
                                  "Nothing was imported.") from None
    return annotations, refused


def _items(data: Any) -> list[Any]:
    """The annotations of a collection, a page, one annotation, or a plain list."""
    if isinstance(data, list):
        return data
    if not isinstance(data, Mapping):
        raise NoteImportError("This file holds no web annotations; nothing was imported.")
    kind = data.get("type")
    if kind == "Annotation":
        return [data]
    if kind == "AnnotationCollection":
        if data.get("first") is None and data.get("total") == 0:
            return []
        page = data.get("first")
        if not isinstance(page, Mapping):
            # A collection whose pages are only linked (first: "https://...") would
            # need fetching; Casebook writes them embedded and never fetches.
            raise NoteImportError("This annotation collection does not contain its "
                                  "annotations (its pages are elsewhere); nothing was imported.")
        if page.get("next") is not None:
            raise NoteImportError("This annotation collection is split over several pages, "
                                  "which Casebook cannot import; nothing was imported.")
        items = _page_items(page)
        total = data.get("total")
        if total is not None and total != len(items):
            raise NoteImportError(f"The collection says it holds {total} annotations but has "
                                  f"{len(items)}; the file may be cut short. Nothing was "
                                  "imported.")
        return items
    if kind == "AnnotationPage":
        return _page_items(data)
    raise NoteImportError("This file is not a web annotation collection (its type is "
                          f"{str(kind)[:40]!r}); nothing was imported.")


def _page_items(page: Mapping[str, Any]) -> list[Any]:
    items = page.get("items")
    if not isinstance(items, list):
        raise NoteImportError("The annotation page has no list of items; nothing was imported.")
    return items


def _is_foreign(item: Any) -> bool:
    """A well-formed web annotation on something other than a Casebook document."""
    if not isinstance(item, Mapping) or item.get("type") != "Annotation":
        return False
    target = item.get("target")
    source = target.get("source") if isinstance(target, Mapping) else target
    return isinstance(source, str) and not source.startswith("casebook://pack/")


def _checked(a: Annotation) -> Annotation:
    """The annotation with a canonical uuid, if every field is what Casebook writes."""
    ident = str(uuid_module.UUID(a.uuid))  # ValueError names a bad one
    for name, value in (("pack", a.pack_id), ("document", a.doc_id),
                        ("version", a.doc_version)):
        if not isinstance(value, str) or not value or len(value) > MAX_NAME \
                or not value.isprintable() or "/" in value:
            raise ValueError(f"its {name} id {str(value)[:40]!r} is not valid")
    if a.kind not in KINDS:
        raise ValueError(f"its kind {str(a.kind)[:20]!r} is not one of {', '.join(KINDS)}")
    if a.colour not in COLOURS:
        raise ValueError(f"its colour {str(a.colour)[:20]!r} is not one of {', '.join(COLOURS)}")
    if a.anchor_state not in STATES:
        raise ValueError(f"its anchor state {str(a.anchor_state)[:20]!r} is unknown")
    if not 0.0 <= a.anchor_score <= 1.0:
        raise ValueError("its anchor score is not between 0 and 1")
    for name, value in (("note", a.body), ("extractor", a.extractor),
                        ("text hash", a.text_sha256), ("created", a.created),
                        ("modified", a.updated)):
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ValueError(f"its {name} is not text")
    if a.deleted is not None and not isinstance(a.deleted, str):
        raise ValueError("its deleted date is not text")
    if any(not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_NAME
           for tag in a.tags):
        raise ValueError("a tag is not a short piece of text")
    _check_selectors(a.selectors)
    try:
        # JSON can spell a lone surrogate ("\ud800"); SQLite cannot store it, and the
        # insert would fail mid-import with UnicodeEncodeError (tests/fuzz).
        json.dumps([a.body, a.tags, a.selectors, a.pack_id, a.doc_id, a.doc_version,
                    a.extractor, a.text_sha256, a.created, a.updated, a.deleted],
                   ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("it holds text that is not valid Unicode") from None
    now = utc_now()
    return a.with_changes(uuid=ident, created=a.created or now,
                          updated=a.updated or a.created or now)


def _check_selectors(selectors: tuple[dict[str, Any], ...]) -> None:
    types = [s.get("type") if isinstance(s, dict) else None for s in selectors]
    quote = next((s for s in selectors if isinstance(s, dict)
                  and s.get("type") == "TextQuoteSelector"), None)
    if quote is None or not isinstance(quote.get("exact"), str) or not quote["exact"].strip() \
            or len(quote["exact"]) > MAX_TEXT:
        raise ValueError("it has no quote (TextQuoteSelector)")
    if not all(isinstance(quote.get(k, ""), str) for k in ("prefix", "suffix")):
        raise ValueError("its quote's context is not text")
    for selector, kind in zip(selectors, types, strict=True):
        if kind == "TextPositionSelector":
            start, end = selector.get("start"), selector.get("end")
            if not (_integer(start) and _integer(end) and 0 <= start <= end):
                raise ValueError("its text position is not a pair of offsets")
        elif kind in ("PageSelector", "FragmentSelector"):
            index = selector.get("index")
            # A page selector needs its index: Annotation.page_index reads it as
            # selector["index"], and a missing one raised KeyError at the insert (tests/fuzz).
            if (index is not None or kind == "PageSelector") \
                    and not (_integer(index) and index >= 0):
                raise ValueError("its page or section index is not a number")
            for key in ("label", "title", "value"):
                if not isinstance(selector.get(key, ""), str | None):
                    raise ValueError(f"its {key} is not text")
        elif kind == "PdfRectsSelector":
            rects = selector.get("rects")
            if not isinstance(rects, list) or not all(_rect(r) for r in rects):
                raise ValueError("its highlight rectangles are not page rectangles")
        elif not isinstance(kind, str):
            raise ValueError("a selector has no type")


def _integer(value: Any) -> bool:
    # Within SQLite's 64 bits: offsets and page indexes are stored in INTEGER columns,
    # and a bigger one failed the insert with OverflowError (tests/fuzz).
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _rect(item: Any) -> bool:
    if not isinstance(item, dict) or not _integer(item.get("page")) or item["page"] < 0:
        return False
    rect = item.get("rect")
    return isinstance(rect, list) and len(rect) == 4 and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in rect)


def _target_key(a: Annotation) -> tuple[str, ...]:
    """What "the same target and body" means: document, version, selectors and note."""
    return (a.pack_id, a.doc_id, a.doc_version,
            json.dumps(list(a.selectors), sort_keys=True), a.body)


def _target_keys(conn: sqlite3.Connection, packs: set[str]) -> set[tuple[str, ...]]:
    keys = set()
    for pack_id in packs:
        for row in conn.execute("SELECT pack_id, doc_id, doc_version, selectors, body "
                                "FROM annotations WHERE pack_id = ?", (pack_id,)):
            keys.add((row["pack_id"], row["doc_id"], row["doc_version"],
                      json.dumps(json.loads(row["selectors"]), sort_keys=True), row["body"]))
    return keys


def _place(
    conn: sqlite3.Connection, annotations: list[Annotation]
) -> tuple[list[Annotation], dict[str, tuple[Any, ...]]]:
    """Each annotation re-anchored onto its pack's installed version (orphaned when the
    pack is not installed), and the anchors to keep in history for those that moved."""
    active = {row["pack_id"]: row["version"]
              for row in conn.execute("SELECT pack_id, version FROM packs WHERE active = 1")}
    placed: list[Annotation] = []
    history: dict[str, tuple[Any, ...]] = {}
    by_pack: dict[str, list[Annotation]] = {}
    for annotation in annotations:
        by_pack.setdefault(annotation.pack_id, []).append(annotation)
    for pack_id, group in by_pack.items():
        version = active.get(pack_id)
        if version is None:
            placed += [a.with_changes(anchor_state="orphaned") for a in group]
            continue
        documents = documents_from_store(conn, pack_id, version)
        try:
            # By document and text position, so each PDF page is measured once.
            for annotation in sorted(group, key=lambda a: (a.doc_id, a.start or 0)):
                if annotation.deleted:  # re-anchored when undeleted, as in the store
                    placed.append(annotation)
                    continue
                moved, _outcome = anchor_onto(annotation, version, documents)
                if moved.doc_version != annotation.doc_version \
                        and annotation.anchor_state != "orphaned":
                    history[annotation.uuid] = (
                        annotation.doc_version, json.dumps(list(annotation.selectors)),
                        annotation.extractor, annotation.text_sha256, annotation.anchor_state,
                        annotation.anchor_score)
                placed.append(moved)
        finally:
            for document in documents.values():
                document.close()
    return placed, history


def _too_large(size: int) -> str:
    return (f"The file is {size / 2**20:.1f} MB; annotation files over "
            f"{MAX_IMPORT_BYTES / 2**20:g} MB are refused. Nothing was imported.")
