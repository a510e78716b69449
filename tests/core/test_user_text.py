"""Notes written on the command line: from an argument, a file or standard input, kept
exactly as written (line endings, spaces, tabs), and NUL refused in words (issue 13)."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from desktop_app.cli import main
from desktop_app.core.packs.install import install_pack
from tests.packfactory import PackFactory

WRITTEN = "First thought.  \r\n\r\n\tSecond, indented.\r\nLast   "
QUOTE = "Agree house rules"


@pytest.fixture
def library(store: sqlite3.Connection, packs: PackFactory, data_dir: Path) -> Path:
    install_pack(store, packs.build())
    return data_dir


def add_note(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), "notes", "add", "--pack", "org.example.sample",
                 "--doc", "guide", "--quote", QUOTE, *args])


def bodies(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "notes", "list", "--json"]) == 0
    return [note["body"] for note in json.loads(capsys.readouterr().out)]


def test_a_note_from_a_file_is_kept_byte_for_byte(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note_file = tmp_path / "note.txt"
    note_file.write_bytes(WRITTEN.encode())
    assert add_note(library, "--note-file", str(note_file)) == 0
    assert bodies(library, capsys) == [WRITTEN]


def test_a_note_from_standard_input_keeps_its_line_endings(
    library: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real byte stream, as a pipe gives: text mode would turn CRLF into LF.
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(WRITTEN.encode())))
    assert add_note(library, "--note", "-") == 0
    assert bodies(library, capsys) == [WRITTEN]


def test_a_note_with_nul_is_refused_and_nothing_is_saved(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note_file = tmp_path / "note.txt"
    note_file.write_bytes(b"before\x00after")
    assert add_note(library, "--note-file", str(note_file)) == 1
    err = capsys.readouterr().err
    assert "The note holds a NUL character" in err and "Traceback" not in err
    assert bodies(library, capsys) == []


def test_a_note_both_written_and_from_a_file_is_refused(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note_file = tmp_path / "note.txt"
    note_file.write_text("x", encoding="utf-8")
    assert add_note(library, "--note", "typed", "--note-file", str(note_file)) == 1
    assert "Give the note or --note-file, not both" in capsys.readouterr().err
