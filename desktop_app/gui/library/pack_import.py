"""Long writes from the window (installing a pack, adding a document) run the CLI in a
child process, with progress.

A child process keeps the window alive whatever the file holds (a PDF that crashes
MuPDF takes down only the child), and cancelling is just ending it: each write is
one transaction, so an unfinished one leaves the library as it was.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget


class CliJob(QObject):
    """One CLI command run with ``--progress json``; emits ``finished(ok, message)`` once.

    ``done_event`` holds the command's final JSON event when it succeeded.
    """

    finished = Signal(bool, str)

    def __init__(self, command: list[str], data_dir: Path, title: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.done_event: dict = {}
        self._buffer = b""
        self._result: tuple[bool, str] | None = None
        self._process = QProcess(self)
        self._process.setProgram(sys.executable)
        self._process.setArguments(["-m", "desktop_app", "--data-dir", str(data_dir), *command,
                                    "--progress", "json"])
        self._process.readyReadStandardOutput.connect(self._read)
        self._process.finished.connect(self._done)
        self._process.errorOccurred.connect(self._error)
        self.dialog = QProgressDialog(title, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle(title.rstrip("…"))
        self.dialog.setAccessibleName(f"{title.rstrip('…')} progress")
        self.dialog.setMinimumDuration(300)
        self.dialog.canceled.connect(self.cancel)

    def start(self) -> None:
        self._process.start()

    def cancel(self) -> None:
        if self._process.state() != QProcess.ProcessState.NotRunning:
            self._result = (False, "Cancelled; the library was not changed.")
            self._process.kill()

    def _read(self) -> None:
        self._buffer += bytes(self._process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            self._handle(event)

    def _handle(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "progress":
            self.dialog.setLabelText(str(event.get("what", "")))
            self.dialog.setMaximum(int(event.get("total", 0)))
            self.dialog.setValue(int(event.get("done", 0)))
        elif kind == "done":
            self.done_event = event
            words = {"installed": "Installed", "updated": "Updated", "restored": "Restored",
                     "already-installed": "Already installed:",
                     "added": "Added to My documents:"}
            verb = words.get(event.get("outcome"), "Installed")
            what = event.get("title") or f"{event.get('pack')} {event.get('version')}"
            self._result = (True, f"{verb} {what}.{notes_report(event.get('notes'))}")
        elif kind == "error":
            self._result = (False, str(event.get("message", "The pack was refused.")))

    def _done(self, exit_code: int, _status: QProcess.ExitStatus) -> None:
        self._read()
        result = self._result
        if result is None:
            detail = bytes(self._process.readAllStandardError()).decode(errors="replace")
            result = (False, f"The import stopped unexpectedly (exit {exit_code}). "
                             f"{detail.strip()[-500:]}".strip())
        self.dialog.reset()
        self.finished.emit(*result)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.dialog.reset()
            self.finished.emit(False, "Casebook could not start its helper process.")


def notes_report(counts: dict | None) -> str:
    """After an update: what happened to the reader's notes, in a few words."""
    if not counts:
        return ""
    look = counts.get("fuzzy", 0) + counts.get("orphaned", 0)
    return (f" Your notes: {counts.get('kept', 0)} kept in place, {counts.get('moved', 0)} "
            f"moved, {look} need a look" + (" (Notes › Notes that need a look)." if look else "."))


class PackImport(CliJob):
    """Install or update a pack."""

    def __init__(self, pack: Path, data_dir: Path, parent: QWidget,
                 allow_unsigned: bool = False) -> None:
        command = ["pack", "install", str(pack)]
        if allow_unsigned:
            command.append("--allow-unsigned")
        super().__init__(command, data_dir, f"Checking {pack.name}…", parent)
        self.pack = pack


class AddDocument(CliJob):
    """Add a loose PDF or Markdown file to My documents."""

    def __init__(self, path: Path, data_dir: Path, parent: QWidget,
                 preview: QWidget | None = None) -> None:
        super().__init__(["docs", "add", str(path)], data_dir, f"Adding {path.name}…", parent)
        self.path = path
        # The tab already showing the file, if any: the reader is reading, so no
        # progress dialog over it; the status bar says what is going on.
        self.preview = preview
        if preview is not None:
            self.dialog.setMinimumDuration(24 * 3600 * 1000)


def ask_to_allow_unsigned(parent: QWidget, message: str, install: Callable[[], None]) -> None:
    """Offer an explicit override for a pack refused only for lack of a trusted signature.

    Window-modal but not blocking: the window keeps painting while the user reads.
    """
    box = QMessageBox(QMessageBox.Icon.Warning, "Unverified pack", message,
                      QMessageBox.StandardButton.Cancel, parent)
    anyway = box.addButton("Install anyway", QMessageBox.ButtonRole.AcceptRole)
    box.setInformativeText("Casebook cannot tell who made this pack or whether it was "
                           "changed. Install it only if you trust where it came from.")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.finished.connect(lambda _result: install() if box.clickedButton() is anyway else None)
    box.open()
