"""What every export format shares: the notes to export, grouped the way a reader
reads them, and writing the file so a failure leaves nothing half-written.

Notes are grouped by document (in pack order) and by section: the Markdown
heading they start under, or for a PDF the outline chapter their page falls in
(by page when the PDF has no outline). Notes whose text was not found in the
installed version come last in their document, in a section of their own, so no
one takes their old page number for a place in the current text.
"""

from __future__ import annotations

import bisect
import os
import re
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote as url_quote

from desktop_app.core.annotations.model import Annotation
from desktop_app.core.annotations.store import get_annotation, list_annotations
from desktop_app.core.errors import CasebookError

# The swatches the window shows (gui/notes_panel.py), so an export looks like the app.
COLOUR_HEX = {"yellow": "#ffe14d", "green": "#7ed67e", "blue": "#7fb5ff", "pink": "#ff9ccf",
              "orange": "#ffb35c"}
NOT_FOUND_SECTION = "Not found in the installed version"
# XML 1.0 (Word's files) and PDF text strings cannot hold these; a PDF's extracted
# text occasionally does (form feeds, stray control codes).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class ExportError(CasebookError):
    """The notes cannot be exported as asked; nothing was written."""


@dataclass(frozen=True)
class ExportNote:
    annotation: Annotation
    where: str  # "page 12" or "§ Lessons": what the reader looks for in the document
    link: str  # casebook://pack/<pack>/<doc>#page=N or #<anchor>
    state_note: str  # "" when anchored; otherwise a warning to show beside the note

    @property
    def quote(self) -> str:
        return clean(self.annotation.quote)

    @property
    def body(self) -> str:
        return clean(self.annotation.body)

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(clean(tag) for tag in self.annotation.tags)

    @property
    def colour(self) -> str:
        colour = self.annotation.colour
        return colour if colour in COLOUR_HEX else "yellow"

    @property
    def dates(self) -> str:
        """"noted 2026-11-02", and "edited …" when it was changed on a later day."""
        created, updated = self.annotation.created[:10], self.annotation.updated[:10]
        text = f"noted {created}" if created else ""
        if updated and updated != created:
            text += f"{', ' if text else ''}edited {updated}"
        return text


@dataclass
class ExportSection:
    title: str
    anchor: str | None = None  # Markdown heading id, for links
    notes: list[ExportNote] = field(default_factory=list)


@dataclass
class ExportDocument:
    pack_id: str
    doc_id: str
    title: str
    is_pdf: bool
    version: str | None  # the installed version, None when the pack is not installed
    sections: list[ExportSection] = field(default_factory=list)

    @property
    def notes(self) -> list[ExportNote]:
        return [note for section in self.sections for note in section.notes]


@dataclass
class NoteExport:
    title: str  # the pack's title, or "Casebook notes" for several packs
    exported: str  # ISO date
    documents: list[ExportDocument]
    annotations: list[Annotation]  # in reading order, for formats that want them flat

    @property
    def notes(self) -> list[ExportNote]:
        return [note for document in self.documents for note in document.notes]

    @property
    def heading(self) -> str:
        return f"Notes: {self.title}"


def gather(
    conn: sqlite3.Connection,
    *,
    pack_id: str | None = None,
    doc_id: str | None = None,
    uuids: list[str] | None = None,
) -> NoteExport:
    """The reader's notes (not deleted ones) on a pack, a document, or a selection of
    uuids (also within the pack and document given), grouped for export."""
    wanted = None
    if uuids:
        # get_annotation accepts the short ids the CLI shows and says which one is unknown.
        wanted = {get_annotation(conn, uuid).uuid for uuid in uuids}
    annotations = [a for a in list_annotations(conn, pack_id=pack_id, doc_id=doc_id)
                   if wanted is None or a.uuid in wanted]
    if not annotations:
        scope = " in that selection" if uuids else (
            f" on {doc_id!r}" if doc_id else (f" in pack {pack_id!r}" if pack_id else ""))
        raise ExportError(f"There are no notes or highlights{scope} to export; "
                          "nothing was written.")
    documents: dict[tuple[str, str], list[Annotation]] = {}
    for annotation in annotations:
        documents.setdefault((annotation.pack_id, annotation.doc_id), []).append(annotation)
    packs = {key[0] for key in documents}
    title = _pack_title(conn, next(iter(packs))) if len(packs) == 1 else "Casebook notes"
    return NoteExport(
        title=clean(title), exported=date.today().isoformat(),
        documents=[_document(conn, pack, doc, notes) for (pack, doc), notes in documents.items()],
        annotations=annotations,
    )


def _pack_title(conn: sqlite3.Connection, pack_id: str) -> str:
    row = conn.execute("SELECT title FROM packs WHERE pack_id = ? ORDER BY active DESC LIMIT 1",
                       (pack_id,)).fetchone()
    return row["title"] if row else pack_id


def _document(conn: sqlite3.Connection, pack_id: str, doc_id: str,
              annotations: list[Annotation]) -> ExportDocument:
    # The installed version's document first; a kept older version's title otherwise.
    row = conn.execute(
        "SELECT d.id, d.title, d.media_type, d.blob_sha256, p.version, p.active "
        "FROM documents d JOIN packs p ON p.pack_id = d.pack_id AND p.version = d.pack_version "
        "WHERE d.pack_id = ? AND d.doc_id = ? ORDER BY p.active DESC LIMIT 1",
        (pack_id, doc_id),
    ).fetchone()
    installed = row is not None and row["active"]
    is_pdf = row["media_type"] == "application/pdf" if row else any(
        a.page_index is not None for a in annotations)
    document = ExportDocument(
        pack_id, doc_id, clean(row["title"]) if row else doc_id, is_pdf,
        row["version"] if installed else None)
    chapters = _chapters(conn, row["blob_sha256"]) if installed and is_pdf else []
    # Keyed by place, not title: two chapters may both have a "Summary" section.
    sections: dict[tuple[str, int | None], ExportSection] = {}
    for annotation in annotations:
        if annotation.anchor_state == "orphaned":
            key, title, anchor = ("orphaned", None), NOT_FOUND_SECTION, None
        elif annotation.page_index is not None:
            start, title = _chapter(chapters, annotation)
            key, anchor = ("page", start), None
        else:
            key = ("section", annotation.unit)
            title, anchor = annotation.section or "Untitled section", annotation.section_anchor
        section = sections.setdefault(key, ExportSection(clean(title), anchor))
        section.notes.append(_note(annotation))
    # list_annotations puts orphans last, so the "not found" section comes last too.
    document.sections = list(sections.values())
    return document


def _note(annotation: Annotation) -> ExportNote:
    base = f"casebook://pack/{url_quote(annotation.pack_id, safe='')}/" \
           f"{url_quote(annotation.doc_id, safe='')}"
    if annotation.page_index is not None:
        where = f"page {annotation.page_label or annotation.page_index + 1}"
        link = f"{base}#page={annotation.page_index + 1}"
    elif annotation.section:
        where = f"§ {annotation.section}"
        anchor = annotation.section_anchor
        link = f"{base}#{url_quote(anchor, safe='-._~')}" if anchor else base
    else:
        where, link = "no page", base
    state_note = {
        "anchored": "",
        "fuzzy": "(needs a look)",
        "orphaned": f"(not found in this version — made on {annotation.doc_version})",
    }.get(annotation.anchor_state, "")
    return ExportNote(annotation, clean(where), link, state_note)


def _chapters(conn: sqlite3.Connection, blob_sha256: str) -> list[tuple[int, str]]:
    """(first page index, title) of the PDF's top outline level; [] without an outline."""
    from desktop_app.core.documents.pdf import open_pdf

    row = conn.execute("SELECT data FROM blobs WHERE sha256 = ?", (blob_sha256,)).fetchone()
    if row is None:
        return []
    try:
        doc = open_pdf(bytes(row["data"]), "document")
    except CasebookError:
        return []
    try:
        toc = [(level, title, page) for level, title, page, *_ in doc.get_toc(simple=False)
               if page >= 1 and title.strip()]
    finally:
        doc.close()
    if not toc:
        return []
    top = min(level for level, _title, _page in toc)
    return sorted({(page - 1, " ".join(title.split())) for level, title, page in toc
                   if level == top})


def _chapter(chapters: list[tuple[int, str]], annotation: Annotation) -> tuple[int, str]:
    """(first page, title) of the chapter holding the annotation's page, or of the page."""
    page = annotation.page_index or 0
    at = bisect.bisect_right([start for start, _title in chapters], page) - 1
    if at < 0:  # no outline, or a page before the first chapter (a title page)
        return -1 - page, f"Page {annotation.page_label or page + 1}"
    return chapters[at]


def clean(text: str) -> str:
    """Text without the characters XML and PDF strings cannot hold."""
    return _NOT_XML.sub("", text)


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file beside it, so a failure
    (a full disk, a crash) leaves either the old file or none, never half a file."""
    target = Path(target)
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give a file name to export to.")
    folder = target.parent if str(target.parent) else Path(".")
    temporary = folder / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        # os.open with 0o666 lets the umask decide the mode, as for any new file.
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ExportError(f"Cannot write {target}: {exc.strerror or exc}; "
                          "nothing was written.") from None
