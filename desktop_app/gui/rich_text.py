"""Pack text shown as Qt rich text: escaped first, then marked.

Titles, labels and snippets come from packs. Qt renders any string that looks like
HTML as HTML, so every piece of pack text is escaped before our own tags are added.
"""

from __future__ import annotations

import html
from collections.abc import Iterable


def escape(text: str) -> str:
    """Pack text as literal rich text (``<b>`` shows as ``<b>``)."""
    return html.escape(text, quote=True)


def marked_html(text: str, spans: Iterable[tuple[int, int]],
                open_tag: str = "<b>", close_tag: str = "</b>") -> str:
    """``text`` escaped, with the ``(start, end)`` character spans wrapped in tags.

    Spans outside the text are clipped, and overlapping ones merged into the first,
    so malformed offsets can never produce unbalanced tags.
    """
    parts: list[str] = []
    done = 0
    for start, end in sorted(spans):
        start, end = max(start, done), min(end, len(text))
        if start >= end:
            continue
        parts.append(escape(text[done:start]))
        parts.append(open_tag + escape(text[start:end]) + close_tag)
        done = end
    parts.append(escape(text[done:]))
    return "".join(parts)
