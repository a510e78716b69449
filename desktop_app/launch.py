"""``casebook [--data-dir DIR] [--verbose] [FILE...]``: the window, started before the CLI.

Most of what ``casebook`` is started for is the window, and the window's first frame
needs few of the CLI's modules (packs, export, the network: ~0.15 s to import). So
``__main__`` asks here first, with the command line only, and starts the window at
once when it plainly asks for one. Anything else (a command, help, an option we do not
know, no screen) goes to the CLI's parser, which decides as before: this is a shortcut,
never a second parser that could disagree about a command.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# The CLI's command names (tests/test_launch.py checks them against the parser): a word
# among them is a command, anything else is a file to open.
COMMANDS = frozenset({
    "demo", "pack", "keys", "docs", "search", "notes", "store", "library",
    "site", "comment", "outbox", "sync", "comments", "doctor", "updates",
})


@dataclass(frozen=True)
class WindowRequest:
    data_dir: str | None = None
    verbose: bool = False
    files: list[Path] = field(default_factory=list)


def window_request(argv: list[str]) -> WindowRequest | None:
    """What to open, if ``argv`` plainly asks for the window; None leaves it to the CLI."""
    rest = list(argv)
    data_dir, verbose = None, False
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option == "--data-dir" and rest:
            data_dir = rest.pop(0)
        elif option.startswith("--data-dir="):
            data_dir = option.partition("=")[2]
        elif option == "--verbose":
            verbose = True
        else:
            return None  # --help, --version, --self-test, a typo: the parser answers
    if rest and rest[0] in COMMANDS:
        return None
    if not has_display():
        return None  # the CLI prints the library as text instead
    return WindowRequest(data_dir, verbose, [Path(name) for name in rest])


def has_display() -> bool:
    """False on a Linux session with no screen (SSH, CI), where a window cannot open."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def open_window(request: WindowRequest) -> int:
    from desktop_app.gui.app import run  # Qt is imported only when a window is wanted
    from desktop_app.logs import setup_logging
    from desktop_app.paths import resolve_paths

    paths = resolve_paths(request.data_dir)
    log_file = setup_logging(paths.log_dir, request.verbose)
    try:
        return run(paths, request.files)
    except Exception as exc:  # the window's own hook shows errors once it is up
        log.exception("Unexpected error")
        where = f" Details are in {log_file}." if log_file else ""
        print(f"casebook: Unexpected error: {exc.__class__.__name__}: {exc}.{where}",
              file=sys.stderr)
        return 1
