"""No control or bidi character from a pack reaches the terminal or the log (issue 13).

A real pack whose title, document titles and text carry NUL, ANSI escapes and a
right-to-left override is installed and listed, searched and shown through the real
CLI; what it prints is checked character by character.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path

import pytest

from desktop_app.cli import main
from desktop_app.core.packs.install import install_pack
from desktop_app.logs import LOG_NAME, setup_logging
from tests.packfactory import PackFactory, make_pdf

HOSTILE = "Bad\x00 \x1b[31mRED\x1b[0m \u202eexe.txt\u202c \u2066x\u2069 \x9b2J"
# What a terminal would act on: C0/C1 controls but newline, and bidi/format characters.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e"
                    "\u2066-\u2069\ufeff]")


@pytest.fixture
def hostile_library(store: sqlite3.Connection, packs: PackFactory, data_dir: Path) -> Path:
    spec = packs.spec()
    spec.fields["title"] = f"Title {HOSTILE}"
    spec.fields["publisher"] = f"Publisher {HOSTILE}"
    spec.documents[0]["title"] = f"Guide {HOSTILE}"
    spec.files["documents/guide.pdf"] = make_pdf([f"Moderation {HOSTILE} policy."])
    markdown = HOSTILE.replace("\x00", "")  # Markdown with NUL is refused outright
    spec.files["documents/case-one.md"] = f"# Case {markdown}\n\nModeration {markdown}.\n".encode()
    install_pack(store, packs.write(spec))
    return data_dir


def cli_output(data_dir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["--data-dir", str(data_dir), *args]) == 0
    captured = capsys.readouterr()
    return captured.out + captured.err


@pytest.mark.parametrize("args", [
    ("library",), ("pack", "list"), ("pack", "list", "--json"), ("search", "moderation"),
    ("search", "moderation", "--json"),
], ids=["library", "pack-list", "pack-list-json", "search", "search-json"])
def test_pack_text_reaches_the_terminal_inert(
    hostile_library: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    out = cli_output(hostile_library, capsys, *args)
    assert "Title" in out or "Moderation" in out.title() or "moderation" in out
    assert not UNSAFE.findall(out), UNSAFE.findall(out)
    if "--json" in args:
        json.loads(out)  # still the same, valid JSON
    else:
        assert "\\x1b[31mRED" in out or "<U+202E>" in out


def test_the_library_listing_shows_the_escapes_visibly(
    hostile_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = cli_output(hostile_library, capsys, "library")
    assert "Title Bad\\x00 \\x1b[31mRED\\x1b[0m <U+202E>exe.txt<U+202C> <U+2066>x<U+2069> " \
           "\\x9b2J" in out


def test_json_output_keeps_the_title_exactly(
    hostile_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = json.loads(cli_output(hostile_library, capsys, "pack", "list", "--json"))
    assert listed[0]["title"] == f"Title {HOSTILE}"


def test_the_log_holds_no_control_or_bidi_character(tmp_path: Path) -> None:
    log_file = setup_logging(tmp_path)
    assert log_file is not None
    logger = logging.getLogger("casebook.test")
    logger.info("Refused: %s", f"{HOSTILE}\n2026-11-01 00:00:00 ERROR forged line")
    try:
        raise ValueError(HOSTILE)
    except ValueError:
        logger.exception("Unexpected error")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = (tmp_path / LOG_NAME).read_text(encoding="utf-8")
    assert not UNSAFE.findall(text)
    assert "\\x1b[31mRED" in text and "<U+202E>" in text
    # The forged line is part of the refusal's line, not a line of its own.
    assert not any(line.startswith("2026-11-01 00:00:00 ERROR") for line in text.splitlines())
    assert "Traceback" in text  # tracebacks keep their lines
