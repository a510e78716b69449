"""Logging to a rotating file in the user's log folder; never anything secret."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from desktop_app.core.inert_text import inert

LOG_NAME = "casebook.log"


class InertFormatter(logging.Formatter):
    """Messages made inert (core/inert_text.py): a pack title or a site's answer in a
    message can neither forge a log line with a newline nor carry terminal escapes to
    whoever reads the log with ``cat``. Tracebacks keep their lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = inert(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        # The traceback too: another handler may have formatted and cached it already.
        return inert(super().format(record), multiline=True)


def setup_logging(log_dir: Path, verbose: bool = False) -> Path | None:
    """Log to ``log_dir/casebook.log`` (1 MB x 3); returns the file, or None if unwritable."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Called once per command; a caller that runs several commands in one process
    # (the tests, later the GUI) must not collect handlers and open files.
    for old in [h for h in root.handlers if getattr(h, "casebook", False)]:
        root.removeHandler(old)
        old.close()
    log_file = log_dir / LOG_NAME
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return None
    handler.casebook = True  # type: ignore[attr-defined]
    handler.setFormatter(InertFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return log_file
