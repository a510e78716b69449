"""Notes as one Markdown file: a heading per document and section, each quote as a
block quote with a link back to its page or section, the note under it.

Quotes are pack text and must read as written, so Markdown's punctuation in them
is escaped. Note bodies are Markdown already (the reader wrote them so) and stay
Markdown, except that raw HTML is neutralised and a line starting with "#" cannot
become a heading that breaks the export's own outline.
"""

from __future__ import annotations

import re

from desktop_app.core.export.common import ExportNote, NoteExport

_INLINE = re.compile(r"([\\`*_\[\]])")
# Block syntax at a line's start: headings, lists, setext underlines, tables. Numeric
# references, not backslashes: CommonMark and python-markdown escape different sets.
_LINE_START = re.compile(r"^(\s*)([#+=|-]|\d+[.)])", re.MULTILINE)


def to_markdown(export: NoteExport) -> str:
    """The export as Markdown (CommonMark; python-markdown renders it the same)."""
    lines = [f"# {_line(export.heading)}", "",
             f"Exported from Casebook on {export.exported}; {len(export.notes)} notes.", ""]
    for document in export.documents:
        version = f" (version {document.version})" if document.version else " (not installed)"
        lines += [f"## {_line(document.title)}", "",
                  f"*{escape(document.pack_id)} / {escape(document.doc_id)}{version}*", ""]
        for section in document.sections:
            lines += [f"### {_line(section.title)}", ""]
            for note in section.notes:
                lines += _note(note)
    return "\n".join(lines).rstrip() + "\n"


def _note(note: ExportNote) -> list[str]:
    lines = [f"> {line}" if line else ">" for line in escape(note.quote).splitlines()]
    reference = f"[{escape(note.where)}]({note.link})"
    details = [reference, note.colour] + ([f"**{note.state_note}**"] if note.state_note else [])
    lines += ["", " · ".join(details), ""]
    if note.body.strip():
        lines += [_body(note.body), ""]
    extra = []
    if note.tags:
        extra.append("Tags: " + ", ".join(escape(tag) for tag in note.tags))
    if note.dates:
        extra.append(note.dates)
    if extra:
        lines += [f"*{' · '.join(extra)}*", ""]
    lines += ["---", ""]
    return lines


def escape(text: str) -> str:
    """Pack text as literal Markdown: no emphasis, links, HTML or block syntax."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _INLINE.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: m.group(1) + _references(m.group(2)), text)


def _line(text: str) -> str:
    """One line of escaped text (a heading)."""
    return escape(" ".join(text.split()))


def _references(marker: str) -> str:
    return marker[:-1] + f"&#{ord(marker[-1])};"


def _body(body: str) -> str:
    body = body.replace("&", "&amp;").replace("<", "&lt;")
    return re.sub(r"^(\s*)#", r"\1\\#", body.strip(), flags=re.MULTILINE)
