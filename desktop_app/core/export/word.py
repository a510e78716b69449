"""Notes as a Word document (.docx), written with python-docx.

Only the built-in styles of python-docx's default template are used (Title,
Heading 1-2, Quote, Normal), so Word and LibreOffice show the document with their
own look and its headings appear in their navigation panes. The quote is shaded
in the highlight colour (run shading, which both understand; Word's highlight
palette has no orange).
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from desktop_app.core.export.common import COLOUR_HEX, ExportNote, NoteExport

if TYPE_CHECKING:
    from docx.document import Document
    from docx.text.run import Run


def to_docx(export: NoteExport) -> bytes:
    """The export as the bytes of a .docx file."""
    import docx  # imported here: only exports need it

    document = docx.Document()
    document.core_properties.title = export.heading
    document.core_properties.author = "Casebook"
    document.add_heading(export.heading, level=0)
    document.add_paragraph(f"Exported from Casebook on {export.exported}; "
                           f"{len(export.notes)} notes.")
    for entry in export.documents:
        document.add_heading(entry.title, level=1)
        version = f"version {entry.version}" if entry.version else "not installed"
        document.add_paragraph(f"{entry.pack_id} / {entry.doc_id}, {version}")
        for section in entry.sections:
            document.add_heading(section.title, level=2)
            for note in section.notes:
                _note(document, note)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _note(document: Document, note: ExportNote) -> None:
    from docx.shared import Pt

    quote = document.add_paragraph(style="Quote")
    _shade(quote.add_run(" ".join(note.quote.split())), COLOUR_HEX[note.colour])

    where = document.add_paragraph()
    where.add_run(note.where).bold = True
    where.add_run(f" · {note.colour}")
    if note.state_note:
        where.add_run(f" {note.state_note}").bold = True

    # One paragraph per paragraph of the note; line breaks inside one are kept.
    body = note.body.replace("\r\n", "\n").strip()
    for block in re.split(r"\n\s*\n", body) if body else []:
        first, *rest = block.split("\n")
        paragraph = document.add_paragraph(first)
        for line in rest:
            run = paragraph.add_run()
            run.add_break()
            run.add_text(line)

    extra = []
    if note.tags:
        extra.append("Tags: " + ", ".join(note.tags))
    if note.dates:
        extra.append(note.dates)
    if extra:
        run = document.add_paragraph().add_run(" · ".join(extra))
        run.italic = True
        run.font.size = Pt(9)


def _shade(run: Run, hex_colour: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), hex_colour.lstrip("#").upper())
    run._r.get_or_add_rPr().append(shading)
