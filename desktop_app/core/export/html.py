"""Notes as one self-contained HTML file.

Everything in it comes from packs and from what readers typed, so every piece of
text is escaped and nothing is ever inserted as markup; the note body is shown as
the text the reader wrote (whitespace kept), not rendered. No external resource is
referenced, and a Content-Security-Policy forbids loading any, so the file opens
the same offline and cannot call out. The highlight colour is a left border.
"""

from __future__ import annotations

from html import escape

from desktop_app.core.export.common import COLOUR_HEX, ExportNote, NoteExport

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46em; margin: 2em auto;
       padding: 0 1em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.35em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
.meta, .where, .extra { color: #555; font-size: 0.9em; }
.note { margin: 1em 0 1.5em; padding: 0.2em 0 0.2em 0.9em; border-left: 6px solid; }
blockquote { margin: 0 0 0.4em; font-style: italic; white-space: pre-line; }
.body { white-space: pre-wrap; margin: 0.4em 0; }
.state { color: #a33; font-weight: bold; }
a { color: #0b57d0; }
@media print { .note { break-inside: avoid; } }
""" + "".join(f".c-{name} {{ border-left-color: {hex_colour}; }}\n"
              for name, hex_colour in COLOUR_HEX.items())


def to_html(export: NoteExport) -> str:
    """The export as one HTML5 document with an inline style sheet and no other files."""
    title = escape(export.heading)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        # Belt and braces: even if markup slipped through, nothing could load or run.
        "<meta http-equiv=\"Content-Security-Policy\" "
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{title}</h1>",
        f'<p class="meta">Exported from Casebook on {escape(export.exported)}; '
        f"{len(export.notes)} notes.</p>",
    ]
    for document in export.documents:
        version = f"version {document.version}" if document.version else "not installed"
        parts += [f"<h2>{escape(document.title)}</h2>",
                  f'<p class="meta">{escape(document.pack_id)} / {escape(document.doc_id)}, '
                  f"{escape(version)}</p>"]
        for section in document.sections:
            parts.append(f"<h3>{escape(section.title)}</h3>")
            parts += [_note(note) for note in section.notes]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _note(note: ExportNote) -> str:
    state = f' <span class="state">{escape(note.state_note)}</span>' if note.state_note else ""
    lines = [
        f'<div class="note c-{note.colour}" id="note-{escape(note.annotation.uuid)}">',
        f"<blockquote>{escape(note.quote)}</blockquote>",
        f'<p class="where"><a href="{escape(note.link)}">{escape(note.where)}</a> · '
        f"{escape(note.colour)}{state}</p>",
    ]
    if note.body.strip():
        lines.append(f'<p class="body">{escape(note.body.strip())}</p>')
    extra = []
    if note.tags:
        extra.append("Tags: " + ", ".join(escape(tag) for tag in note.tags))
    if note.dates:
        extra.append(escape(note.dates))
    if extra:
        lines.append(f'<p class="extra">{" · ".join(extra)}</p>')
    lines.append("</div>")
    return "\n".join(lines)
