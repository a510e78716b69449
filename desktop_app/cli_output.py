"""How the command line prints: shared by cli.py and its site and update commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from desktop_app.core.errors import CasebookError
from desktop_app.core.inert_text import inert

if TYPE_CHECKING:
    from desktop_app.core.packs.install import InstallResult


def one_line(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class InertStream:
    """A text stream that writes everything through :func:`inert`: whatever a pack, a
    PDF or a site put in a title, a snippet or an error message, no control or bidi
    character reaches the terminal. Casebook's own escapes go to :func:`unfiltered`."""

    def __init__(self, stream: TextIO) -> None:
        self.unfiltered = stream

    def write(self, text: str) -> int:
        self.unfiltered.write(inert(text, multiline=True))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.unfiltered, name)


@contextmanager
def inert_output() -> Iterator[None]:
    """Standard output and error as :class:`InertStream` for the command's run."""
    saved = sys.stdout, sys.stderr
    # None where there is no console (the frozen app on Windows): nothing to protect.
    sys.stdout, sys.stderr = (InertStream(s) if s is not None else s for s in saved)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def unfiltered(stream: TextIO) -> TextIO:
    """The stream under an :class:`InertStream`, for Casebook's own terminal escapes."""
    return getattr(stream, "unfiltered", stream)


def user_text(value: str | None, file: str | None, what: str, option: str) -> str:
    """The reader's text for a note or a comment, exactly as written: from the argument,
    or from ``file`` (``-``, or the argument ``-``, is standard input), read as bytes so
    that not even line endings change. NUL is the one character refused."""
    if file is not None and value not in (None, ""):
        raise CasebookError(f"Give the {what} or {option}, not both.")
    source = file if file is not None else value
    if source is None:
        raise CasebookError(f"No {what} given: write it as an argument, or use {option} FILE "
                            "(- for standard input).")
    if source == "-" or file is not None:
        data = _read_bytes(source, option)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CasebookError(f"The {what} is not UTF-8 text (byte {exc.start:,}).") from None
    else:
        text = source
    if "\x00" in text:
        raise CasebookError(f"The {what} holds a NUL character, which Casebook does not keep.")
    return text


def _read_bytes(source: str, option: str) -> bytes:
    if source == "-":
        stream = sys.stdin
        buffer = getattr(stream, "buffer", None)  # a text-only stream in some hosts
        return buffer.read() if buffer is not None else stream.read().encode("utf-8")
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise CasebookError(f"Cannot read {source} for {option} ({exc.strerror}).") from None


def emit(event: dict) -> None:
    """One JSON event on stdout (``--progress json``, read by the window's CliJob)."""
    print(json.dumps(event), flush=True)


def json_progress(what: str, done: int, total: int) -> None:
    emit({"event": "progress", "what": what, "done": done, "total": total})


def text_progress(amount: Callable[[str, int, int], str] | None = None
                  ) -> Callable[[str, int, int], None] | None:
    """A progress line on a terminal's stderr (None when stderr is not a terminal);
    ``amount`` words the count (default ``done/total``)."""
    if not sys.stderr.isatty():
        return None

    def show(what: str, done: int, total: int) -> None:
        words = amount(what, done, total) if amount else f"{done}/{total}"
        unfiltered(sys.stderr).write("\r\033[K")  # back to the start, clear the line
        print(f"{what} ({words})", end="" if done < total else "\n",
              file=sys.stderr, flush=True)

    return show


def install_event(result: InstallResult, **extra: object) -> dict:
    """The ``done`` event of an install or update."""
    event = {"event": "done", "pack": result.pack_id, "version": result.version,
             "outcome": result.outcome, "trust": result.trust,
             "previous_version": result.previous_version, **extra}
    if result.reanchor:  # only when the reader had notes on the pack
        event["notes"] = result.reanchor.as_json()
    if result.warnings:
        event["warnings"] = list(result.warnings)
    return event


def print_notes_moved(result: InstallResult) -> None:
    """After an install or update: what was repaired or could not be read, and what
    happened to the reader's notes, if they had any."""
    for warning in result.warnings:
        print(warning)
    r = result.reanchor
    if r:
        print(f"Your notes and highlights: {r.kept} in place, {r.moved} moved, "
              f"{r.fuzzy} to check, {r.orphaned} not found in this version"
              + (" (casebook notes list --state orphaned)." if r.orphaned else "."))
