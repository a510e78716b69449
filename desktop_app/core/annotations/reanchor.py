"""Moving every annotation of a pack onto the version that became active.

Planning (text matching and PyMuPDF geometry) reads only, so an install does it
before its transaction; applying writes the plan inside that transaction, so an
update and its re-anchoring commit together. Nothing is ever dropped: an
annotation that cannot be found keeps its last selectors and version and is marked
orphaned. The selectors each annotation had on the version it leaves are kept in
``annotation_history``, so a rollback restores them instead of guessing again.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from desktop_app.core.annotations.anchoring import AnchorResult, anchor
from desktop_app.core.annotations.describe import describe_span
from desktop_app.core.annotations.geometry import PdfGeometry
from desktop_app.core.annotations.model import Annotation
from desktop_app.core.annotations.store import COLUMNS, from_row, writing
from desktop_app.core.annotations.text import DocumentText, Unit
from desktop_app.core.documents import ExtractedDocument
from desktop_app.core.store.db import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReanchorReport:
    kept: int = 0  # anchored where it was
    moved: int = 0  # anchored exactly, elsewhere
    fuzzy: int = 0  # found approximately: the reader should confirm
    orphaned: int = 0  # not found; kept with its quote and the version it was made on

    @property
    def total(self) -> int:
        return self.kept + self.moved + self.fuzzy + self.orphaned

    def as_json(self) -> dict[str, int]:
        return {"kept": self.kept, "moved": self.moved, "fuzzy": self.fuzzy,
                "orphaned": self.orphaned}


@dataclass
class TargetDocument:
    """A document of the version annotations move to; its text and PDF are read only
    if an annotation needs them (a rollback of a large pack with two notes reads one)."""

    doc_id: str
    load_text: Callable[[], DocumentText]
    extractor: str
    is_pdf: bool
    pdf: Callable[[], bytes] | None = None  # its bytes, read only if rectangles are needed
    _text: DocumentText | None = field(default=None, repr=False)
    _geometry: PdfGeometry | None = field(default=None, repr=False)

    @property
    def text(self) -> DocumentText:
        if self._text is None:
            self._text = self.load_text()
        return self._text

    def geometry(self) -> PdfGeometry | None:
        if self.is_pdf and self._geometry is None and self.pdf is not None:
            self._geometry = PdfGeometry(self.pdf(), self.doc_id)
        return self._geometry

    def close(self) -> None:
        if self._geometry is not None:
            self._geometry.close()
            self._geometry = None


def target_document(
    doc_id: str, extracted: ExtractedDocument, media_type: str, data: Callable[[], bytes]
) -> TargetDocument:
    """A document freshly read from a pack file, not yet in the store."""
    def load_text() -> DocumentText:
        units = extracted.units
        return DocumentText([u.text for u in units],
                            [Unit(u.number, u.label, u.anchor) for u in units],
                            extracted.text_sha256)

    return TargetDocument(doc_id, load_text, extracted.extractor,
                          media_type == "application/pdf", data)


def documents_from_store(
    conn: sqlite3.Connection, pack_id: str, version: str
) -> dict[str, TargetDocument]:
    from desktop_app.core.annotations.text import document_text
    from desktop_app.core.library import document_bytes, document_record

    documents = {}
    for row in conn.execute(
        "SELECT id, doc_id, media_type, extractor FROM documents "
        "WHERE pack_id = ? AND pack_version = ?", (pack_id, version),
    ).fetchall():
        record_id = row["id"]
        documents[row["doc_id"]] = TargetDocument(
            row["doc_id"], lambda rid=record_id: document_text(conn, rid), row["extractor"],
            row["media_type"] == "application/pdf",
            lambda rid=record_id: document_bytes(conn, document_record(conn, rid)),
        )
    return documents


@dataclass(frozen=True)
class _Change:
    uuid: str
    before: tuple[str, str, str]  # doc_version, selectors, state when planned
    history: tuple[Any, ...] | None  # the current anchors, to keep for a rollback
    values: dict[str, Any]  # new column values
    outcome: str  # kept | moved | fuzzy | orphaned


@dataclass
class ReanchorPlan:
    pack_id: str
    version: str
    documents: dict[str, TargetDocument]
    changes: dict[str, _Change] = field(default_factory=dict)

    def apply(self, conn: sqlite3.Connection) -> ReanchorReport | None:
        """Write the plan; inside the caller's transaction if one is open.

        Annotations made or changed since planning are re-anchored here. None when
        the pack has no annotation to move."""
        counts = {"kept": 0, "moved": 0, "fuzzy": 0, "orphaned": 0}
        try:
            with writing(conn):
                for row in _pending(conn, self.pack_id, self.version):
                    change = self.changes.get(row["uuid"])
                    if change is None or change.before != _before(row):
                        change = _plan_one(conn, from_row(row), self.version, self.documents)
                    _write(conn, change)
                    counts[change.outcome] += 1
        finally:
            self.close()
        if not any(counts.values()):
            return None
        report = ReanchorReport(**counts)
        log.info("Re-anchored %s annotations onto %s %s: %s", report.total, self.pack_id,
                 self.version, report.as_json())
        return report

    def close(self) -> None:
        for document in self.documents.values():
            document.close()


def prepare_reanchor(
    conn: sqlite3.Connection,
    pack_id: str,
    version: str,
    documents: dict[str, TargetDocument],
    only: Collection[str] | None = None,
) -> ReanchorPlan:
    """Work out, without writing, where each annotation of the pack goes on ``version``."""
    plan = ReanchorPlan(pack_id, version, documents)
    rows = _pending(conn, pack_id, version)
    annotations = [from_row(row) for row in rows if only is None or row["uuid"] in only]
    # Grouped by document and in text order, so PDF pages are opened in turn.
    annotations.sort(key=lambda a: (a.doc_id, a.start or 0))
    for annotation in annotations:
        plan.changes[annotation.uuid] = _plan_one(conn, annotation, version, documents)
    return plan


def reanchor_pack(
    conn: sqlite3.Connection, pack_id: str, old_version: str | None, new_version: str
) -> ReanchorReport | None:
    """Re-anchor every non-deleted annotation of ``pack_id`` onto ``new_version`` (in the
    store); ``old_version`` is the version being left, for the log. None if there were none."""
    log.info("Re-anchoring %s annotations from %s to %s", pack_id, old_version, new_version)
    documents = documents_from_store(conn, pack_id, new_version)
    return prepare_reanchor(conn, pack_id, new_version, documents).apply(conn)


def restore_anchors(
    conn: sqlite3.Connection, pack_id: str, version: str
) -> ReanchorReport | None:
    """After a rollback to ``version``: the anchors annotations had on it come back from
    history; annotations made since are re-anchored onto it."""
    return reanchor_pack(conn, pack_id, None, version)


def reanchor_one(conn: sqlite3.Connection, uuid: str) -> None:
    """Bring one annotation onto the active version of its pack, if it is not there."""
    row = conn.execute(
        "SELECT a.pack_id, p.version FROM annotations a JOIN packs p "
        "ON p.pack_id = a.pack_id AND p.active = 1 WHERE a.uuid = ?", (uuid,),
    ).fetchone()
    if row is None:
        return
    documents = documents_from_store(conn, row["pack_id"], row["version"])
    prepare_reanchor(conn, row["pack_id"], row["version"], documents, only={uuid}).apply(conn)


def _pending(conn: sqlite3.Connection, pack_id: str, version: str) -> list[sqlite3.Row]:
    # Orphans on the version itself too: after a rollback they are found again.
    return conn.execute(
        f"SELECT {COLUMNS} FROM annotations WHERE pack_id = ? AND deleted IS NULL "
        "AND (doc_version != ? OR anchor_state = 'orphaned')",
        (pack_id, version),
    ).fetchall()


def _before(row: sqlite3.Row) -> tuple[str, str, str]:
    return (row["doc_version"], row["selectors"], row["anchor_state"])


def _plan_one(
    conn: sqlite3.Connection,
    annotation: Annotation,
    version: str,
    documents: dict[str, TargetDocument],
) -> _Change:
    before = (annotation.doc_version, json.dumps(list(annotation.selectors)),
              annotation.anchor_state)
    # An orphan's history row was written while it was still anchored, on the update
    # that lost it: that row, not its orphaned state, is what a rollback restores.
    history = None if annotation.anchor_state == "orphaned" else (
        annotation.doc_version, before[1], annotation.extractor, annotation.text_sha256,
        annotation.anchor_state, annotation.anchor_score)
    document = documents.get(annotation.doc_id)
    if document is None:  # the document left the pack
        return _Change(annotation.uuid, before, history,
                       _orphan_values(annotation, 0.0), "orphaned")

    kept = conn.execute(
        "SELECT selectors, extractor, text_sha256, anchor_state, anchor_score "
        "FROM annotation_history WHERE uuid = ? AND doc_version = ?",
        (annotation.uuid, version),
    ).fetchone()
    if kept is not None and kept["text_sha256"] == document.text.sha256 \
            and kept["anchor_state"] != "orphaned":
        selectors = tuple(json.loads(kept["selectors"]))
        values = _values(version, selectors, kept["extractor"], kept["text_sha256"],
                         kept["anchor_state"], kept["anchor_score"])
        outcome = "kept" if kept["anchor_state"] == "anchored" else "fuzzy"
        return _Change(annotation.uuid, before, history, values, outcome)

    result = anchor(annotation.selectors, document.text, made_on_sha256=annotation.text_sha256)
    if not result.found:
        return _Change(annotation.uuid, before, history,
                       _orphan_values(annotation, result.score), "orphaned")
    selectors, state, score = _describe(annotation, result, document)
    values = _values(version, selectors, document.extractor, document.text.sha256, state, score)
    if state == "fuzzy":
        outcome = "fuzzy"
    elif (result.start, result.end) == (annotation.start, annotation.end):
        outcome = "kept"
    else:
        outcome = "moved"
    return _Change(annotation.uuid, before, history, values, outcome)


def _describe(
    annotation: Annotation, result: AnchorResult, document: TargetDocument
) -> tuple[tuple[dict[str, Any], ...], str, float]:
    if result.method == "unchanged":
        # The same text: same offsets, same pages. A fuzzy match stays one to confirm.
        if annotation.anchor_state == "fuzzy":
            return annotation.selectors, "fuzzy", annotation.anchor_score
        return annotation.selectors, "anchored", 1.0
    page = document.text.unit_at(result.start) if document.is_pdf else None
    if (result.start, result.end) == (annotation.start, annotation.end) \
            and page == annotation.page_index \
            and document.text.text[result.start:result.end] == annotation.quote:
        # Same text at the same offsets on the same page: the old geometry stands,
        # and the PDF need not be opened (most annotations of a small update).
        return annotation.selectors, result.state, result.score
    selectors = describe_span(document.text, result.start, result.end,
                              geometry=document.geometry())
    return selectors, result.state, result.score


def _values(version: str, selectors: tuple[dict[str, Any], ...], extractor: str,
            text_sha256: str, state: str, score: float) -> dict[str, Any]:
    described = Annotation("", "", "", version, "highlight", selectors, extractor, text_sha256)
    return {
        "doc_version": version, "selectors": json.dumps(list(selectors)),
        "extractor": extractor, "text_sha256": text_sha256, "anchor_state": state,
        "anchor_score": score, "quote": described.quote, "unit": described.unit,
        "unit_label": described.unit_label, "text_start": described.start,
    }


def _orphan_values(annotation: Annotation, score: float) -> dict[str, Any]:
    # Selectors, version and hash stay those of the version the text was last found on.
    return {"anchor_state": "orphaned", "anchor_score": round(score, 4)}


def _write(conn: sqlite3.Connection, change: _Change) -> None:
    if change.history is not None:
        conn.execute(
            "INSERT OR REPLACE INTO annotation_history (uuid, doc_version, selectors, "
            "extractor, text_sha256, anchor_state, anchor_score, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (change.uuid, *change.history, utc_now()),
        )
    columns = ", ".join(f"{name} = :{name}" for name in change.values)
    conn.execute(f"UPDATE annotations SET {columns} WHERE uuid = :uuid",
                 {**change.values, "uuid": change.uuid})


def anchor_onto(
    annotation: Annotation, version: str, documents: dict[str, TargetDocument]
) -> tuple[Annotation, str]:
    """Where an annotation that is not in the store yet (an imported one) lands on
    ``version`` of its pack, and the outcome (kept, moved, fuzzy, orphaned). Reads only.

    As after an update, nothing is dropped: a quote that is not found keeps its
    selectors and version and comes back orphaned."""
    document = documents.get(annotation.doc_id)
    if document is None:
        return annotation.with_changes(anchor_state="orphaned", anchor_score=0.0), "orphaned"
    result = anchor(annotation.selectors, document.text, made_on_sha256=annotation.text_sha256)
    if result.method == "unchanged" and not _quote_at(document.text, result, annotation.quote):
        # An imported file claims the same text but its positions do not hold the quote:
        # trust the quote, not the claim.
        result = anchor(annotation.selectors, document.text)
    if not result.found:
        return annotation.with_changes(anchor_state="orphaned",
                                       anchor_score=round(result.score, 4)), "orphaned"
    selectors, state, score = _describe(annotation, result, document)
    if state == "fuzzy":
        outcome = "fuzzy"
    elif (result.start, result.end) == (annotation.start, annotation.end) \
            and annotation.doc_version == version:
        outcome = "kept"
    else:
        outcome = "moved"
    moved = annotation.with_changes(
        doc_version=version, selectors=selectors, extractor=document.extractor,
        text_sha256=document.text.sha256, anchor_state=state, anchor_score=score)
    return moved, outcome


def _quote_at(text: DocumentText, result: AnchorResult, quote: str) -> bool:
    from desktop_app.core.annotations.text import normalise_plain

    if not 0 <= result.start < result.end <= len(text.text):
        return False
    return normalise_plain(text.text[result.start:result.end]) == normalise_plain(quote)
