"""``casebook [--data-dir DIR] [--verbose] [FILE...]``: the window, started before the CLI.

Most of what ``casebook`` is started for is the window, and the window's first frame
needs few of the CLI's modules (packs, export, the network: ~0.15 s to import). So
``__main__`` asks here first, with the command line only, and starts the window at
once when it plainly asks for one. Anything else (a command, help, an option we do not
know, no screen) goes to the CLI's parser, which decides as before: this is a shortcut,
never a second parser that could disagree about a command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NamedTuple

# The CLI's command names (tests/core/test_launch.py checks them against the parser): a
# word among them is a command, anything else is a file to open.
COMMANDS = frozenset({
    "demo", "pack", "keys", "docs", "search", "notes", "store", "library",
    "site", "comment", "outbox", "sync", "comments", "doctor", "updates", "publish",
    "catalogue",
})


class WindowRequest(NamedTuple):
    data_dir: str | None
    verbose: bool
    files: list[Path]


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
    # Qt first, and the render worker with it (gui.app.start_early): nothing else is
    # loaded before it starts, not even logging.
    from desktop_app.gui.app import run, start_early

    early = start_early(request.files)
    import logging

    from desktop_app.logs import setup_logging
    from desktop_app.paths import resolve_paths

    paths = resolve_paths(request.data_dir)
    log_file = setup_logging(paths.log_dir, request.verbose)
    try:
        return run(paths, request.files, early=early)
    except Exception as exc:  # the window's own hook shows errors once it is up
        logging.getLogger(__name__).exception("Unexpected error")
        where = f" Details are in {log_file}." if log_file else ""
        print(f"casebook: Unexpected error: {exc.__class__.__name__}: {exc}.{where}",
              file=sys.stderr)
        return 1
