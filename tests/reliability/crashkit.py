"""Run the real CLI, kill it with SIGKILL part-way, and read what the store then holds.

Everything here reads the store with plain ``sqlite3``, not Casebook's code, so a bug
in the code under test cannot hide itself from the checks.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STORE = "casebook.sqlite3"
ROOT = Path(__file__).resolve().parents[2]


def cli(data_dir: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``casebook --data-dir DATA_DIR ARGS`` to the end."""
    return subprocess.run(_command(data_dir, args), capture_output=True, text=True,
                          cwd=ROOT, env=_env(), timeout=120)


def _command(data_dir: Path, args: tuple[str | Path, ...]) -> list[str]:
    return [sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir),
            *(str(a) for a in args)]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CASEBOOK_DATA_DIR", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def pause_before_commit(seconds: float) -> dict[str, str]:
    """The test hook that holds each write transaction open before its COMMIT."""
    return {"CASEBOOK_TEST_HOOKS": "1", "CASEBOOK_TEST_PAUSE_BEFORE_COMMIT": str(seconds)}


@dataclass(frozen=True)
class Run:
    killed: bool  # False when the command finished before the kill was due
    returncode: int
    stdout: str
    seconds: float


def run_and_kill(data_dir: Path, args: tuple[str | Path, ...], delay: float,
                 env: dict[str, str] | None = None) -> Run:
    """Start the command and SIGKILL it after ``delay`` seconds (if still running)."""
    start = time.perf_counter()
    process = subprocess.Popen(_command(data_dir, args), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=_env(env))
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
    stdout, _ = process.communicate(timeout=120)
    return Run(process.returncode == -signal.SIGKILL, process.returncode, stdout,
               time.perf_counter() - start)


def copy_data_dir(source: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("logs"))
    return target


# --- What the store holds --------------------------------------------------------------


def _connect(store: Path) -> sqlite3.Connection:
    # Opening for writing lets SQLite recover a WAL the killed process left behind,
    # as Casebook's next start would.
    conn = sqlite3.connect(store, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def integrity_problems(store: Path) -> list[str]:
    """Everything wrong with the file: SQLite's own check, and the full-text indexes
    against exactly the pages of the active pack versions."""
    problems = []
    conn = _connect(store)
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems.append(f"integrity_check: {result[:3]}")
        for index in ("pages_fts", "pages_words", "annotations_fts", "annotations_words"):
            try:
                conn.execute(f"INSERT INTO {index}({index}) VALUES('integrity-check')")
            except sqlite3.DatabaseError as exc:
                problems.append(f"{index}: {exc}")
    finally:
        conn.close()
    if not problems:
        problems += _index_matches_active_pages(store)
    return problems


def _index_matches_active_pages(store: Path) -> list[str]:
    # The page indexes hold the active versions only, so on a scratch copy without the
    # other versions' pages the index must match its content table row for row.
    scratch = store.with_name("fts-scratch.sqlite3")
    source = _connect(store)
    dest = sqlite3.connect(scratch, isolation_level=None)
    try:
        source.backup(dest)
        dest.execute(
            "DELETE FROM pages WHERE document_id NOT IN (SELECT d.id FROM documents d "
            "JOIN packs p ON p.pack_id = d.pack_id AND p.version = d.pack_version "
            "WHERE p.active = 1)")
        problems = []
        for index in ("pages_fts", "pages_words"):
            try:
                dest.execute(f"INSERT INTO {index}({index}, rank) VALUES('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                problems.append(f"{index} does not match the active pages: {exc}")
        return problems
    finally:
        source.close()
        dest.close()
        scratch.unlink(missing_ok=True)


def state(store: Path) -> dict[str, Any]:
    """The store's meaning, without ids and times: what a reader would see."""
    conn = _connect(store)
    try:
        packs = [tuple(r) for r in conn.execute(
            "SELECT pack_id, version, active, trust FROM packs ORDER BY pack_id, version")]
        documents = [tuple(r) for r in conn.execute(
            "SELECT d.pack_id, d.pack_version, d.doc_id, d.page_count, "
            "(SELECT count(*) FROM pages g WHERE g.document_id = d.id) "
            "FROM documents d ORDER BY 1, 2, 3")]
        blobs = conn.execute("SELECT count(*), coalesce(sum(size), 0) FROM blobs").fetchone()
        indexed = conn.execute("SELECT count(*) FROM pages p JOIN documents d "
                               "ON d.id = p.document_id JOIN packs k ON k.pack_id = d.pack_id "
                               "AND k.version = d.pack_version WHERE k.active = 1").fetchone()
        history = [tuple(r) for r in conn.execute(
            "SELECT pack_id, highest_version FROM pack_history ORDER BY 1")]
        return {"packs": packs, "documents": documents, "blobs": tuple(blobs),
                "active_pages": indexed[0], "history": history, "notes": notes(store, conn)}
    finally:
        conn.close()


def notes(store: Path, conn: sqlite3.Connection | None = None) -> dict[str, tuple]:
    """uuid -> (pack, doc, quote, body, deleted, anchor state, version anchored to)."""
    own = conn is None
    conn = conn or _connect(store)
    try:
        return {
            r["uuid"]: (r["pack_id"], r["doc_id"], r["quote"], r["body"],
                        r["deleted"] is not None, r["anchor_state"], r["doc_version"])
            for r in conn.execute("SELECT * FROM annotations")
        }
    finally:
        if own:
            conn.close()


def comments(store: Path) -> dict[str, tuple]:
    """Outbox uuid -> (pack, doc, body, state)."""
    conn = _connect(store)
    try:
        return {r["uuid"]: (r["pack_id"], r["doc_id"], r["body"], r["state"])
                for r in conn.execute("SELECT * FROM outbox")}
    finally:
        conn.close()


def without_notes(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in snapshot.items() if key != "notes"}
