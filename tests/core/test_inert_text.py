"""Text from packs and sites made inert for the terminal, the log and the window."""

from __future__ import annotations

import json
import sys
import unicodedata

from desktop_app.core.inert_text import inert, inert_json, isolate

# Joiners real text needs (docs in inert_text): left as they are.
KEPT_FORMAT = {"\u00ad", "\u200c", "\u200d"}


def test_every_control_format_and_separator_character_is_escaped() -> None:
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        dangerous = unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs")
        if dangerous and char not in KEPT_FORMAT:
            shown = inert(char)
            assert shown != char and shown.isascii() and shown.isprintable(), hex(code)


def test_escapes_are_visible_and_ordinary_text_is_untouched() -> None:
    title = "Guide\x00 \x1b[31mred\x1b[0m \u202eexe.txt\u202c caf\u00e9 \u05e9\u05dc\u05d5\u05dd"
    assert inert(title) == ("Guide\\x00 \\x1b[31mred\\x1b[0m <U+202E>exe.txt<U+202C> caf\u00e9 "
                            "\u05e9\u05dc\u05d5\u05dd")
    assert inert("two\nlines\tand\r") == "two\\nlines\\tand\\r"
    assert inert("two\nlines\tand\r", multiline=True) == "two\nlines\tand\\r"
    assert inert("co\u00adoperate, \U0001f468\u200d\U0001f469") == \
        "co\u00adoperate, \U0001f468\u200d\U0001f469"


def test_json_keeps_the_data_and_loses_the_controls() -> None:
    value = {"title": "\u202eevil\x1b[2J", "list": ["\ud800", "\U000e0041"]}
    text = inert_json(value, indent=2)
    assert inert(text, multiline=True) == text
    assert json.loads(text) == value


def test_an_isolate_cannot_leak_its_direction() -> None:
    assert isolate("plain, caf\u00e9") == "plain, caf\u00e9"  # nothing there can move
    assert isolate("\u05e9\u05dc\u05d5\u05dd 2") == "\u2068\u05e9\u05dc\u05d5\u05dd 2\u2069"
    assert isolate("\u202eexe.txt") == "\u2068\u202eexe.txt\u2069"
    # An unopened PDI would close our isolate early; an unclosed RLI would keep it open.
    assert isolate("a\u2069b\u2067c") == "\u2068ab\u2067c\u2069\u2069"
    assert isolate("x\x1by") == "x\\x1by"
