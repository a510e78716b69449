"""Text from a pack, a PDF, a site or a comment, made inert before it is shown.

Such text is the author's, not ours: a title holding ``ESC[31m`` would recolour the
reader's terminal, a NUL would cut a log line, and a right-to-left override (U+202E)
makes ``exe.txt`` read as ``txt.exe``. Before a terminal or a log, :func:`inert`
shows every such character as a visible escape (``\\x1b``, ``<U+202E>``); before the
window, :func:`isolate` keeps right-to-left text working but fences it in, so that
it cannot reorder the words around it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# C0 and C1 control characters, and every character of Unicode categories Cf (format),
# Zl and Zp (line and paragraph separators) and Cs (lone surrogates), except three
# joiners that real text needs and that move nothing: the soft hyphen (U+00AD, common
# in PDF text), ZWNJ and ZWJ (U+200C, U+200D: Persian, Indic scripts, emoji).
# tests/core/test_inert_text.py checks this list against unicodedata.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\ud800-\udfff]"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
FSI, PDI = "\u2068", "\u2069"  # first-strong isolate, pop directional isolate
_ISOLATES_OPEN = "\u2066\u2067\u2068"  # LRI, RLI, FSI
# Bidi classes that can move text around them: right-to-left letters and Arabic digits,
# and the explicit embeddings, overrides and isolates.
_MOVING = frozenset({"R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI",
                     "PDI"})


def _visible(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


def inert(text: str, *, multiline: bool = False) -> str:
    """``text`` with control, bidi and other invisible format characters shown as
    escapes. ``multiline`` keeps newlines and tabs (a comment's body, a traceback)."""
    if multiline:
        return _UNSAFE.sub(lambda m: m.group() if m.group() in "\n\t" else _visible(m.group()),
                           text)
    return _UNSAFE.sub(lambda m: _visible(m.group()), text)


def isolate(text: str) -> str:
    """``text`` for a label in the window: controls shown as escapes and, when it holds
    anything that can change direction, the whole in a first-strong isolate (U+2068 …
    U+2069) whose own isolates are balanced, so that no right-to-left run or override
    inside it reaches the text around it. Plain left-to-right text is left as it is."""
    text = _CONTROL.sub(lambda m: _visible(m.group()), text)
    if text.isascii() or not any(unicodedata.bidirectional(c) in _MOVING for c in text):
        return text
    out: list[str] = [FSI]
    depth = 0
    for char in text:
        if char in _ISOLATES_OPEN:
            depth += 1
        elif char == PDI:
            if depth == 0:
                continue  # it would close our isolate early
            depth -= 1
        out.append(char)
    out.append(PDI * (depth + 1))
    return "".join(out)


def inert_json(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False)`` with every unsafe character written as a
    ``\\u`` escape: the same data, and nothing a terminal would act on."""
    text = json.dumps(value, ensure_ascii=False, **options)
    # json.dumps escapes controls inside strings already: a newline left is indentation.
    return _UNSAFE.sub(lambda m: m.group() if m.group() == "\n" else json.dumps(m.group())[1:-1],
                       text)
