"""The reader's answer to a re-anchoring the core was unsure of."""

from __future__ import annotations

import sqlite3

from desktop_app.core.annotations.model import Annotation, AnnotationError
from desktop_app.core.annotations.store import get_annotation, writing
from desktop_app.core.store.db import utc_now


def confirm_place(conn: sqlite3.Connection, uuid: str) -> Annotation:
    """Accept where a ``fuzzy`` annotation was placed: it becomes ``anchored``."""
    note = get_annotation(conn, uuid)
    if note.anchor_state != "fuzzy":
        raise AnnotationError("Only a note marked 'check its place' can be confirmed.")
    with writing(conn):
        conn.execute(
            "UPDATE annotations SET anchor_state = 'anchored', anchor_score = 1.0, updated = ? "
            "WHERE uuid = ?",
            (utc_now(), note.uuid),
        )
    return get_annotation(conn, note.uuid)
