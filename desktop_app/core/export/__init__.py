"""Exporting the reader's notes, and importing annotation files.

- ``common``: the notes of a pack, document or selection, grouped by document and
  section; atomic file writing
- ``word``: a .docx (python-docx)
- ``markdown``: one Markdown file
- ``html``: one self-contained HTML file
- ``pdf``: a copy of a guide with the notes as PDF highlight annotations
- ``jsonld``: W3C Web Annotations (an AnnotationCollection), and importing them back

:func:`export_notes` is what the CLI and the window call.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.export import common
from desktop_app.core.export.common import ExportError, gather, write_atomically

FORMATS = ("docx", "md", "html", "pdf", "jsonld")


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    notes: int
    documents: int
    not_placed: int = 0  # PDF only: orphaned notes listed on the "Notes not placed" page


def export_notes(
    conn: sqlite3.Connection,
    fmt: str,
    target: Path,
    *,
    pack_id: str | None = None,
    doc_id: str | None = None,
    uuids: list[str] | None = None,
) -> ExportResult:
    """Export the notes of a pack, a document or a selection of uuids to ``target``,
    written atomically: on any failure there is no file, or the old one unchanged."""
    not_placed = 0
    if fmt == "pdf":
        from desktop_app.core.export.pdf import choose_pdf, to_pdf

        record = choose_pdf(conn, pack_id=pack_id, doc_id=doc_id, uuids=uuids)
        export = gather(conn, pack_id=record.pack_id, doc_id=record.doc_id, uuids=uuids)
        result = to_pdf(conn, record, export)
        data, not_placed = result.data, result.not_placed
    else:
        export = gather(conn, pack_id=pack_id, doc_id=doc_id, uuids=uuids)
        data = _render(fmt, export)
    write_atomically(target, data)
    return ExportResult(Path(target), fmt, len(export.annotations), len(export.documents),
                        not_placed)


def _render(fmt: str, export: common.NoteExport) -> bytes:
    if fmt == "docx":
        from desktop_app.core.export.word import to_docx

        return to_docx(export)
    if fmt == "md":
        from desktop_app.core.export.markdown import to_markdown

        return to_markdown(export).encode("utf-8")
    if fmt == "html":
        from desktop_app.core.export.html import to_html

        return to_html(export).encode("utf-8")
    if fmt == "jsonld":
        from desktop_app.core.export.jsonld import dumps

        return dumps(export)
    raise ExportError(f"The export format is one of {', '.join(FORMATS)}, not {fmt!r}.")
