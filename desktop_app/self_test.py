"""``casebook --self-test``: does this installation work, here, without a screen?

Meant for the frozen build on a locked-down laptop (and CI): it goes through what a
reader does, on a temporary data folder that is deleted afterwards, so the user's own
library is never touched. Each step names itself; the first one that fails stops the
run, and its name and error are what the user sees.

Steps: install the bundled sample pack, check its signature, render a guide page with
PyMuPDF, render one through the render worker process (the way the window does, which
in a frozen build means the program starting itself again), search, add a note, export
it in every format, and load Qt's offscreen platform (the plugins a frozen build must
carry).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_PACK_ID = "org.casebook.sample.local-by-social"
SEARCH_WORDS = "accessible"
EXPORT_FORMATS = ("md", "html", "docx", "jsonld", "pdf")
WORKER_TIMEOUT = 30.0


class SelfTestFailure(Exception):
    """A step failed; the message says what was wrong."""


@dataclass
class Run:
    folder: Path
    facts: dict[str, object] = field(default_factory=dict)


def run_self_test(folder: Path | None = None) -> tuple[bool, str]:
    """Run every step; (passed, the one-line summary or what failed)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="casebook-self-test-") as tmp:
        run = Run(Path(folder) if folder else Path(tmp))
        try:
            for name, step in STEPS:
                try:
                    step(run)
                except Exception as exc:  # any failure is reported, never raised
                    detail = str(exc) or exc.__class__.__name__
                    return False, f"Self-test FAILED at '{name}': {detail}"
        finally:
            # Before the folder goes: Windows refuses to delete an open file.
            conn = run.facts.pop("conn", None)
            if conn is not None:
                conn.close()
    facts = run.facts
    return True, (
        f"Self-test passed in {time.monotonic() - started:.1f} s: {facts['pack']} "
        f"{facts['version']} installed, signed by {facts['signer']}; guide page 1 rendered "
        f"({facts['pixels']}) here and in the worker; {facts['hits']} hits for "
        f"\"{SEARCH_WORDS}\"; 1 note exported as {', '.join(EXPORT_FORMATS)}; 1 comment "
        f"queued (certificates: {facts['trust']}; keyring: {facts['keyring']}); "
        f"Qt {facts['qt']} ({facts['platform']})."
    )


def main() -> int:
    """The ``--self-test`` entry point: print one line, exit 0 or 1."""
    ok, line = run_self_test()
    print(line, file=sys.stdout if ok else sys.stderr, flush=True)
    return 0 if ok else 1


# -- steps ---------------------------------------------------------------------------


def _open_store(run: Run) -> None:
    from desktop_app.core.library import open_library
    from desktop_app.sample import BUNDLED_KEYS

    if not BUNDLED_KEYS:
        raise SelfTestFailure("no publisher keys are bundled (resources/keys is empty)")
    run.facts["conn"] = open_library(run.folder / "data" / "casebook.sqlite3", BUNDLED_KEYS)


def _verify_signature(run: Run) -> None:
    from desktop_app.core.packs.reader import read_pack
    from desktop_app.core.packs.trust import trusted_keys
    from desktop_app.sample import sample_pack

    pack_file = sample_pack(run.folder / "sample")
    pack = read_pack(pack_file, trusted_keys(run.facts["conn"]))
    if pack.signature.trust != "signed":
        raise SelfTestFailure(f"the sample pack's signature is {pack.signature.trust}")
    run.facts.update(pack_file=pack_file, signer=pack.signature.signer_name)


def _install(run: Run) -> None:
    from desktop_app.core.packs.install import install_pack

    result = install_pack(run.facts["conn"], run.facts["pack_file"])
    if result.pack_id != SAMPLE_PACK_ID:
        raise SelfTestFailure(f"installed {result.pack_id}, not the sample pack")
    run.facts.update(pack=result.pack_id, version=result.version)


def _guide_bytes(run: Run) -> bytes:
    from desktop_app.core.library import active_document, document_bytes

    conn = run.facts["conn"]
    return document_bytes(conn, active_document(conn, SAMPLE_PACK_ID, "guide"))


def _render_page(run: Run) -> None:
    import pymupdf

    with pymupdf.open(stream=_guide_bytes(run), filetype="pdf") as doc:
        pix = doc[0].get_pixmap(dpi=72)
    # A page that drew nothing (no fonts, a broken MuPDF) is one flat colour.
    if pix.width < 100 or pix.is_unicolor:
        raise SelfTestFailure("guide page 1 rendered blank")
    run.facts["pixels"] = f"{pix.width}x{pix.height}"


def _render_in_worker(run: Run) -> None:
    from desktop_app.__main__ import render_worker_command
    from desktop_app.render import protocol

    requests = (protocol.encode({"op": "open", "id": 1, "doc": "guide"}, _guide_bytes(run))
                + protocol.encode({"op": "render", "id": 2, "doc": "guide", "page": 0,
                                   "scale": 1.0})
                + protocol.encode({"op": "quit"}))
    try:
        done = subprocess.run(render_worker_command(), input=requests, capture_output=True,
                              timeout=WORKER_TIMEOUT, env=_worker_env(), check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SelfTestFailure(f"the render worker did not run: {exc}") from exc
    replies = _frames(done.stdout)
    ops = [header.get("op") for header, _ in replies]
    if ops[:2] != ["opened", "rendered"]:
        error = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise SelfTestFailure(f"the render worker answered {ops} (exit {done.returncode}) "
                              f"{error[0]}")


def _search(run: Run) -> None:
    from desktop_app.core.search import search

    hits = search(run.facts["conn"], SEARCH_WORDS, limit=50)
    if not hits:
        raise SelfTestFailure(f'no hits for "{SEARCH_WORDS}" in the sample pack')
    run.facts.update(hits=len(hits), hit=hits[0])


def _annotate(run: Run) -> None:
    from desktop_app.core.annotations.store import annotate_quote
    from desktop_app.core.library import active_document

    conn = run.facts["conn"]
    hit = run.facts["hit"]
    record = active_document(conn, hit.pack_id, hit.doc_id)
    quote = _plain(hit.snippet)
    run.facts["note"] = annotate_quote(conn, record, quote, body="Self-test note")


def _export(run: Run) -> None:
    from desktop_app.core.export import export_notes

    note = run.facts["note"]
    for fmt in EXPORT_FORMATS:
        target = run.folder / f"notes.{fmt}"
        result = export_notes(run.facts["conn"], fmt, target, pack_id=note.pack_id,
                              doc_id=note.doc_id)
        if result.notes != 1 or target.stat().st_size == 0:
            raise SelfTestFailure(f"exporting as {fmt} wrote {result.notes} notes")


def _queue_comment(run: Run) -> None:
    # No request is made: the outbox is local, and the network stack (the system's
    # trust store, the keyring) is only loaded, which is what a frozen build can lack.
    from desktop_app.core.comments import credentials, outbox
    from desktop_app.core.net import make_client, trust_store_name

    comment = outbox.add_comment(run.facts["conn"], SAMPLE_PACK_ID, "guide",
                                 "Self-test comment")
    if outbox.get_comment(run.facts["conn"], comment.uuid).state != "queued":
        raise SelfTestFailure("the comment was not queued")
    make_client("https://community.example.org").close()
    run.facts.update(trust=trust_store_name(), keyring=credentials.keyring_name() or "none")


def _qt_offscreen(run: Run) -> None:
    # The window itself needs a screen; the offscreen platform loads the same Qt
    # libraries, plugins and fonts, which is what a frozen build can be missing.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import __version__ as qt_version
    from PySide6.QtGui import QFont, QFontMetrics, QGuiApplication, QImage

    app = QGuiApplication.instance() or QGuiApplication(["casebook-self-test"])
    image = QImage(64, 64, QImage.Format.Format_RGB888)
    if image.isNull() or QFontMetrics(QFont()).horizontalAdvance("Casebook") <= 0:
        raise SelfTestFailure("Qt could not draw text (no fonts?)")
    run.facts.update(qt=qt_version, platform=app.platformName())


STEPS: list[tuple[str, Callable[[Run], None]]] = [
    ("open a library", _open_store),
    ("verify the sample pack's signature", _verify_signature),
    ("install the sample pack", _install),
    ("render a guide page", _render_page),
    ("render a page in the worker process", _render_in_worker),
    ("search", _search),
    ("create a note", _annotate),
    ("export the note", _export),
    ("queue a comment and load the network stack", _queue_comment),
    ("load Qt (offscreen)", _qt_offscreen),
]


# -- helpers -------------------------------------------------------------------------


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    if not getattr(sys, "frozen", False):
        # ``-m`` must find this package when run from a source tree.
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _frames(data: bytes) -> list[tuple[dict, bytes]]:
    from desktop_app.render import protocol

    buffer = protocol.FrameBuffer()
    try:
        return buffer.feed(data)
    except protocol.ProtocolError as exc:
        raise SelfTestFailure(f"the render worker's reply was garbled: {exc}") from exc


def _plain(snippet: str) -> str:
    """Six words in a row from a search snippet, to quote exactly.

    The snippet's longest part between ellipses is contiguous document text; its first
    word may be cut, so the quote starts at the second."""
    words = max(snippet.split("…"), key=len).split()[1:7]
    if len(words) < 3:
        raise SelfTestFailure(f"the search snippet {snippet!r} has too few words to quote")
    return " ".join(words)
