"""Where Casebook keeps its files.

Order of precedence: an explicit ``--data-dir``, then ``CASEBOOK_DATA_DIR``, then
portable mode (a marker file beside the program keeps everything in ``data/`` next
to it, for a USB stick or a shared drive), then the platform's per-user folders.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Casebook"
PORTABLE_MARKER = "casebook-portable.txt"
DATA_DIR_ENV = "CASEBOOK_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path
    log_dir: Path
    cache_dir: Path
    portable: bool

    @property
    def store_file(self) -> Path:
        return self.data_dir / "casebook.sqlite3"

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"


def program_dir() -> Path:
    """The folder the program runs from: beside the executable when frozen,
    otherwise the folder holding the ``desktop_app`` package (a source checkout)."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return Path(__file__).resolve().parent.parent


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return AppPaths(root, root / "logs", root / "cache", portable=False)
    marker_home = program_dir()
    if (marker_home / PORTABLE_MARKER).is_file():
        root = marker_home / "data"
        return AppPaths(root, root / "logs", root / "cache", portable=True)
    return AppPaths(
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        portable=False,
    )
