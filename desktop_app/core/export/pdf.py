"""A copy of a guide with the reader's notes as real PDF highlight annotations.

Each note becomes a Highlight annotation over its words (the PdfRectsSelector
rectangles, one per line), in its colour, with the note as the annotation's
contents, "Casebook" as its author and the note's uuid as its name (/NM), so
Acrobat, Edge, Okular and Evince list and show them like any reviewer's comments.

The PDF is the installed version's: re-anchoring keeps every note that was found
on that version. Notes whose text was not found there (orphaned) have no place in
it; rather than being dropped they are listed on extra pages at the end, "Notes not
placed".
"""

from __future__ import annotations

import io
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from desktop_app.core.annotations.store import get_annotation
from desktop_app.core.documents.pdf import open_pdf
from desktop_app.core.documents.pdf_chars import find_rects
from desktop_app.core.export.common import COLOUR_HEX, ExportError, ExportNote, NoteExport
from desktop_app.core.library import (
    DocumentRecord,
    active_document,
    document_bytes,
    list_documents,
)

if TYPE_CHECKING:
    import pymupdf

NOT_PLACED_TITLE = "Notes not placed"


@dataclass(frozen=True)
class PdfExport:
    data: bytes
    placed: int
    not_placed: int


def choose_pdf(
    conn: sqlite3.Connection,
    *,
    pack_id: str | None = None,
    doc_id: str | None = None,
    uuids: list[str] | None = None,
) -> DocumentRecord:
    """The installed PDF an annotated copy is made of: the document given, the one PDF
    of the pack given, or the one PDF the selected notes are on."""
    if doc_id is None and pack_id is None and uuids:
        places = {(n.pack_id, n.doc_id) for n in (get_annotation(conn, u) for u in uuids)}
        if len(places) != 1:
            raise ExportError("The selected notes are on more than one document; an annotated "
                              "PDF is one document's (choose one with --doc).")
        pack_id, doc_id = places.pop()
    if doc_id is not None:
        if pack_id is None:
            packs = {d.pack_id for d in list_documents(conn) if d.doc_id == doc_id}
            if len(packs) != 1:
                raise ExportError(
                    f"{'No installed pack' if not packs else 'More than one pack'} has a "
                    f"document {doc_id!r}" + ("." if not packs else "; say which with --pack."))
            pack_id = packs.pop()
        record = active_document(conn, pack_id, doc_id)
        if not record.is_pdf:
            raise ExportError(f"{record.title!r} is not a PDF; export its notes as docx, md, "
                              "html or jsonld instead.")
        return record
    if pack_id is None:
        raise ExportError("Say which PDF to annotate: --doc DOC (and --pack PACK), or --pack "
                          "PACK for a pack with one PDF.")
    pdfs = [d for d in list_documents(conn, pack_id) if d.media_type == "application/pdf"]
    if len(pdfs) != 1:
        names = ", ".join(d.doc_id for d in pdfs)
        raise ExportError(
            f"Pack {pack_id!r} has no PDF document." if not pdfs else
            f"Pack {pack_id!r} has {len(pdfs)} PDF documents ({names}); choose one with --doc.")
    return active_document(conn, pack_id, pdfs[0].doc_id)


def to_pdf(conn: sqlite3.Connection, record: DocumentRecord, export: NoteExport) -> PdfExport:
    """The document's PDF with the export's notes on it as highlight annotations."""
    doc = open_pdf(document_bytes(conn, record), record.title)
    try:
        placed, not_placed = 0, []
        for note in export.notes:
            a = note.annotation
            if (a.pack_id, a.doc_id) != (record.pack_id, record.doc_id):
                continue
            if a.anchor_state != "orphaned" and a.doc_version == record.pack_version \
                    and _highlight(doc, note):
                placed += 1
            else:
                not_placed.append(note)
        if not_placed:
            extra = _not_placed_pages(record, not_placed)
            doc.insert_pdf(extra)
            extra.close()
        # garbage=3: drop unused objects and merge duplicates; deflate: compress streams.
        data = doc.tobytes(garbage=3, deflate=True)
    finally:
        doc.close()
    return PdfExport(data, placed, len(not_placed))


def _highlight(doc: pymupdf.Document, note: ExportNote) -> bool:
    """Add the note's highlight annotation(s); False if it has nowhere to go."""
    import pymupdf

    a = note.annotation
    by_page: dict[int, list[pymupdf.Rect]] = defaultdict(list)
    for item in a.rects:
        if 0 <= item["page"] < doc.page_count:
            rect = pymupdf.Rect(item["rect"]) & doc[item["page"]].rect
            if not rect.is_empty:
                by_page[item["page"]].append(rect)
    if not by_page and a.page_index is not None and 0 <= a.page_index < doc.page_count:
        # No rectangles were recorded (text the geometry could not map): search the page.
        # (Matched as find matches, so a quote "staff" finds the page's "staﬀ".)
        found = find_rects(doc[a.page_index], a.quote)
        if found:
            by_page[a.page_index] = [pymupdf.Rect(r) for r in found[0]]
    if not by_page:
        return False
    colour = _rgb(COLOUR_HEX[note.colour])
    content = "\n\n".join(p for p in (note.state_note, note.body.strip(),
                                      "Tags: " + ", ".join(note.tags) if note.tags else "")
                          if p)
    for page_number, rects in sorted(by_page.items()):
        page = doc[page_number]  # kept referenced: an annotation dies with its page object
        annot = page.add_highlight_annot(rects)
        annot.set_colors(stroke=colour)
        annot.set_info(content=content, title="Casebook",
                       subject="Note" if a.kind == "note" else "Highlight",
                       creationDate=_pdf_date(a.created), modDate=_pdf_date(a.updated))
        annot.update()
        doc.xref_set_key(annot.xref, "NM", pymupdf.get_pdf_str(a.uuid))
    return True


def _not_placed_pages(record: DocumentRecord, notes: list[ExportNote]) -> pymupdf.Document:
    """Pages listing the notes that could not be placed, laid out by MuPDF's Story."""
    import pymupdf

    items = []
    for note in notes:
        a = note.annotation
        extra = [f"Tags: {', '.join(note.tags)}"] if note.tags else []
        if note.dates:
            extra.append(note.dates)
        items.append(
            f"<p class='where'>{escape(note.where)} of version {escape(a.doc_version)} "
            f"{escape(note.state_note)}</p>"
            f"<blockquote>{escape(' '.join(note.quote.split()))}</blockquote>"
            + (f"<p>{escape(note.body.strip())}</p>" if note.body.strip() else "")
            + (f"<p class='extra'>{escape(' · '.join(extra))}</p>" if extra else ""))
    html = (f"<h1>{NOT_PLACED_TITLE}</h1><p>The text these notes mark was not found in "
            f"version {escape(record.pack_version)} of {escape(record.title)}, so they are "
            "listed here instead of on its pages.</p>" + "<hr>".join(items))
    css = ("body { font-family: sans-serif; font-size: 11pt; } "
           "h1 { font-size: 18pt; } .where, .extra { color: #555; font-size: 9pt; } "
           "blockquote { font-style: italic; margin-left: 12pt; }")
    story = pymupdf.Story(html=html, user_css=css)
    out = io.BytesIO()
    writer = pymupdf.DocumentWriter(out)
    page = pymupdf.paper_rect("a4")
    more = True
    while more:
        device = writer.begin_page(page)
        more, _ = story.place(pymupdf.Rect(page.x0 + 56, page.y0 + 56, page.x1 - 56, page.y1 - 56))
        story.draw(device)
        writer.end_page()
    writer.close()
    return pymupdf.open(stream=out.getvalue(), filetype="pdf")


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    value = hex_colour.lstrip("#")
    return tuple(int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _pdf_date(iso: str) -> str:
    """2026-11-02T09:30:00Z as a PDF date, D:20261102093000Z."""
    digits = "".join(ch for ch in iso if ch.isdigit())[:14]
    return f"D:{digits}Z" if len(digits) == 14 else ""
