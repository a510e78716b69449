"""Installing, updating, rolling back and removing packs in the store.

Install and update are one transaction each: the new version arrives whole and
active, or the store is as it was. The previously active version is kept (for
``rollback``); older ones are pruned, and blobs no version uses are dropped.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.annotations.reanchor import (
    ReanchorReport,
    TargetDocument,
    documents_from_store,
    prepare_reanchor,
    target_document,
)
from desktop_app.core.documents import ExtractedDocument
from desktop_app.core.errors import NotInstalledError, PackError, SignatureError
from desktop_app.core.packs.archive import Limits
from desktop_app.core.packs.reader import Progress, VerifiedPack, extract_documents, read_pack
from desktop_app.core.packs.trust import trusted_keys
from desktop_app.core.packs.version import PackVersion
from desktop_app.core.search import FULL_TEXT_INDEXES
from desktop_app.core.store.db import transaction, utc_now


@dataclass(frozen=True)
class InstallResult:
    pack_id: str
    version: str
    previous_version: str | None
    outcome: str  # installed | updated | already-installed | restored
    trust: str
    signer_name: str | None
    documents: int
    pages: int
    # How the reader's annotations fared on the new version; None when none moved.
    reanchor: ReanchorReport | None = None
    # What was done to read the documents (a repaired PDF, pages that cannot be read).
    warnings: tuple[str, ...] = ()


def install_pack(
    conn: sqlite3.Connection,
    path: Path,
    *,
    allow_unsigned: bool = False,
    progress: Progress | None = None,
    limits: Limits | None = None,
) -> InstallResult:
    """Install or update from the pack file at ``path``."""
    if progress:
        progress("Checking the pack", 0, 1)
    pack = read_pack(path, trusted_keys(conn), limits)
    manifest = pack.manifest
    _check_trust(conn, pack, allow_unsigned)
    manifest_sha = hashlib.sha256(pack.manifest_bytes).hexdigest()
    active = _active_version(conn, manifest.id)

    kept = conn.execute(
        "SELECT manifest_sha256, active FROM packs WHERE pack_id = ? AND version = ?",
        (manifest.id, str(manifest.version)),
    ).fetchone()
    _check_version(conn, manifest.id, manifest.version, manifest_sha, active)
    if kept is not None:
        if kept["active"]:
            return _result(conn, pack, active, "already-installed")
        # The newer version kept after a rollback: switch back without re-reading.
        version = str(manifest.version)
        plan = prepare_reanchor(conn, manifest.id, version,
                                documents_from_store(conn, manifest.id, version))
        with transaction(conn):
            _switch_active(conn, manifest.id, active, version)
            reanchor = plan.apply(conn)
        return _result(conn, pack, active, "restored", reanchor)

    extracted = extract_documents(pack, progress)
    if progress:
        progress("Saving to the library", 0, 1)
    # Matching quotes and measuring PDF rectangles happen before the transaction;
    # the plan is written inside it, so the update and its annotations commit together.
    plan = prepare_reanchor(conn, manifest.id, str(manifest.version),
                            _targets(pack, extracted))
    with transaction(conn):
        _store_version(conn, pack, manifest_sha, extracted)
        _switch_active(conn, manifest.id, active, str(manifest.version))
        _record_history(conn, pack, manifest_sha)
        _prune(conn, manifest.id, keep={str(manifest.version), active})
        reanchor = plan.apply(conn)
    if progress:
        progress("Installed", 1, 1)
    warnings = tuple(note for result in extracted.values() for note in result.notes)
    return _result(conn, pack, active, "updated" if active else "installed", reanchor,
                   warnings)


def _targets(
    pack: VerifiedPack, extracted: dict[str, ExtractedDocument]
) -> dict[str, TargetDocument]:
    return {
        doc.id: target_document(doc.id, extracted[doc.id], doc.media_type,
                                lambda path=doc.path: pack.files[path])
        for doc in pack.manifest.documents
    }


def rollback_pack(conn: sqlite3.Connection, pack_id: str) -> tuple[str, str]:
    """Make the kept previous version active again; returns (from, to) versions."""
    active = _active_version(conn, pack_id)
    if active is None:
        raise NotInstalledError(f"No pack with the id {pack_id!r} is installed.")
    others = [
        row["version"]
        for row in conn.execute(
            "SELECT version FROM packs WHERE pack_id = ? AND active = 0", (pack_id,)
        )
        if PackVersion.parse(row["version"]) < PackVersion.parse(active)
    ]
    if not others:
        raise NotInstalledError(
            f"{pack_id} {active} has no earlier version kept to roll back to."
        )
    target = max(others, key=PackVersion.parse)
    # The anchors annotations had on that version come back from their history.
    plan = prepare_reanchor(conn, pack_id, target, documents_from_store(conn, pack_id, target))
    with transaction(conn):
        _switch_active(conn, pack_id, active, target)
        plan.apply(conn)
    return active, target


def remove_pack(conn: sqlite3.Connection, pack_id: str) -> list[str]:
    """Remove every version of a pack; returns the versions removed.

    The reader's annotations stay (they reference no pack row): reinstalling the
    pack re-anchors them.

    What was seen of the pack (highest version, signer) stays in ``pack_history``
    so that a removed pack cannot come back older or unsigned.
    """
    versions = [
        row["version"]
        for row in conn.execute("SELECT version FROM packs WHERE pack_id = ?", (pack_id,))
    ]
    if not versions:
        raise NotInstalledError(f"No pack with the id {pack_id!r} is installed.")
    with transaction(conn):
        active = _active_version(conn, pack_id)
        if active:
            _index_version(conn, pack_id, active, add=False)
        conn.execute("DELETE FROM packs WHERE pack_id = ?", (pack_id,))
        _drop_unused_blobs(conn)
    return versions


def _check_trust(conn: sqlite3.Connection, pack: VerifiedPack, allow_unsigned: bool) -> None:
    check = pack.signature
    if check.trust == "signed":
        return
    history = conn.execute(
        "SELECT signed_by FROM pack_history WHERE pack_id = ?", (pack.manifest.id,)
    ).fetchone()
    if history is not None and history["signed_by"]:
        raise SignatureError(
            f"{pack.manifest.id} was installed signed by a trusted publisher before; "
            f"this copy is {_describe(check.trust, check.key_id)} and is refused."
        )
    if not allow_unsigned:
        if check.trust == "unknown-signer":
            raise SignatureError(
                f"The pack is signed by a publisher key Casebook does not trust ({check.key_id}). "
                "Add the publisher's key with 'casebook keys add FILE.pub', or install it "
                "anyway with --allow-unsigned if you trust where it came from."
            )
        raise SignatureError(
            "The pack is not signed. Install it with --allow-unsigned only if you trust "
            "where it came from."
        )


def _describe(trust: str, key_id: str | None) -> str:
    return f"signed by an unknown key ({key_id})" if trust == "unknown-signer" else "unsigned"


def _check_version(
    conn: sqlite3.Connection,
    pack_id: str,
    version: PackVersion,
    manifest_sha: str,
    active: str | None,
) -> None:
    history = conn.execute(
        "SELECT highest_version, highest_manifest_sha256 FROM pack_history WHERE pack_id = ?",
        (pack_id,),
    ).fetchone()
    stored = [row["version"] for row in conn.execute(
        "SELECT version FROM packs WHERE pack_id = ?", (pack_id,))]
    if history is not None:
        stored.append(history["highest_version"])
    for text in stored:
        # Build metadata (after '+') does not count in precedence (SemVer rule 10), so
        # 1.1.0+build.8 is the same version as 1.1.0+build.7 and cannot replace it.
        if text != str(version) and PackVersion.parse(text) == version:
            raise PackError(
                f"{pack_id} {version} is the same version as {text}, which this library "
                "already has: build metadata (after '+') does not make a version newer. "
                "Refused."
            )
    if history is not None:
        highest = PackVersion.parse(history["highest_version"])
        if version == highest and manifest_sha != history["highest_manifest_sha256"]:
            raise PackError(
                f"{pack_id} {version} was installed before with different contents; "
                "a pack's version must change whenever its contents do. Refused."
            )
    if active is not None and version < PackVersion.parse(active):
        raise PackError(
            f"{pack_id} {version} is older than the installed {active}. "
            f"To go back to the version kept before, use 'casebook pack rollback {pack_id}'."
        )
    if history is not None and active is None and version < highest:
        raise PackError(
            f"{pack_id} {version} is older than {highest}, which was installed before; "
            "installing an older version of a removed pack is refused."
        )


def _active_version(conn: sqlite3.Connection, pack_id: str) -> str | None:
    row = conn.execute(
        "SELECT version FROM packs WHERE pack_id = ? AND active = 1", (pack_id,)
    ).fetchone()
    return row["version"] if row else None


def _store_version(
    conn: sqlite3.Connection,
    pack: VerifiedPack,
    manifest_sha: str,
    extracted: dict[str, ExtractedDocument],
) -> None:
    manifest, version = pack.manifest, str(pack.manifest.version)
    conn.executemany(
        "INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?, ?, ?)",
        ((entry.sha256, entry.size, pack.files[entry.path]) for entry in manifest.files),
    )
    conn.execute(
        "INSERT INTO packs (pack_id, version, title, publisher, manifest, manifest_sha256, "
        "trust, signer_key_id, signer_name, installed_at, active) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        (
            manifest.id, version, manifest.title, manifest.publisher,
            pack.manifest_bytes.decode("utf-8"), manifest_sha, pack.signature.trust,
            pack.signature.key_id, pack.signature.signer_name, utc_now(),
        ),
    )
    for position, doc in enumerate(manifest.documents):
        result = extracted[doc.id]
        document_id = conn.execute(
            "INSERT INTO documents (pack_id, pack_version, doc_id, position, kind, title, "
            "media_type, path, blob_sha256, page_count, text_sha256, extractor, html, post) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                manifest.id, version, doc.id, position, doc.kind, doc.title, doc.media_type,
                doc.path, manifest.file(doc.path).sha256, len(result.units),
                result.text_sha256, result.extractor, result.html, doc.post,
            ),
        ).lastrowid
        conn.executemany(
            "INSERT INTO pages (document_id, number, label, anchor, text, problem) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((document_id, u.number, u.label, u.anchor, u.text, u.problem)
             for u in result.units),
        )
    conn.executemany(
        "INSERT INTO media (pack_id, pack_version, path, media_type, blob_sha256) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            (manifest.id, version, path, media_type, manifest.file(path).sha256)
            for path, (media_type, _data) in pack.media().items()
        ),
    )


def _switch_active(
    conn: sqlite3.Connection, pack_id: str, old: str | None, new: str
) -> None:
    if old is not None:
        _index_version(conn, pack_id, old, add=False)
        conn.execute(
            "UPDATE packs SET active = 0 WHERE pack_id = ? AND version = ?", (pack_id, old)
        )
    conn.execute("UPDATE packs SET active = 1 WHERE pack_id = ? AND version = ?", (pack_id, new))
    _index_version(conn, pack_id, new, add=True)


def _index_version(conn: sqlite3.Connection, pack_id: str, version: str, *, add: bool) -> None:
    # Both indexes are external-content tables over pages: removing a row needs its text.
    for index in FULL_TEXT_INDEXES:
        command = "SELECT p.id, p.text" if add else "SELECT 'delete', p.id, p.text"
        columns = "(rowid, text)" if add else f"({index}, rowid, text)"
        conn.execute(
            f"INSERT INTO {index} {columns} {command} FROM pages p "
            "JOIN documents d ON d.id = p.document_id "
            "WHERE d.pack_id = ? AND d.pack_version = ?",
            (pack_id, version),
        )


def _record_history(conn: sqlite3.Connection, pack: VerifiedPack, manifest_sha: str) -> None:
    signed_by = pack.signature.key_id if pack.signature.trust == "signed" else None
    row = conn.execute(
        "SELECT highest_version FROM pack_history WHERE pack_id = ?", (pack.manifest.id,)
    ).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO pack_history (pack_id, highest_version, highest_manifest_sha256, "
            "signed_by) VALUES (?, ?, ?, ?)",
            (pack.manifest.id, str(pack.manifest.version), manifest_sha, signed_by),
        )
        return
    if pack.manifest.version > PackVersion.parse(row["highest_version"]):
        conn.execute(
            "UPDATE pack_history SET highest_version = ?, highest_manifest_sha256 = ? "
            "WHERE pack_id = ?",
            (str(pack.manifest.version), manifest_sha, pack.manifest.id),
        )
    if signed_by:
        conn.execute(
            "UPDATE pack_history SET signed_by = coalesce(signed_by, ?) WHERE pack_id = ?",
            (signed_by, pack.manifest.id),
        )


def _prune(conn: sqlite3.Connection, pack_id: str, keep: set[str | None]) -> None:
    for row in conn.execute(
        "SELECT version FROM packs WHERE pack_id = ?", (pack_id,)
    ).fetchall():
        if row["version"] not in keep:
            conn.execute(
                "DELETE FROM packs WHERE pack_id = ? AND version = ?", (pack_id, row["version"])
            )
    _drop_unused_blobs(conn)


def _drop_unused_blobs(conn: sqlite3.Connection) -> None:
    conn.execute(
        "DELETE FROM blobs WHERE sha256 NOT IN "
        "(SELECT blob_sha256 FROM documents UNION SELECT blob_sha256 FROM media)"
    )


def _result(
    conn: sqlite3.Connection, pack: VerifiedPack, previous: str | None, outcome: str,
    reanchor: ReanchorReport | None = None, warnings: tuple[str, ...] = (),
) -> InstallResult:
    version = str(pack.manifest.version)
    row = conn.execute(
        "SELECT count(DISTINCT d.id) AS documents, count(p.id) AS pages FROM documents d "
        "LEFT JOIN pages p ON p.document_id = d.id WHERE d.pack_id = ? AND d.pack_version = ?",
        (pack.manifest.id, version),
    ).fetchone()
    return InstallResult(
        pack_id=pack.manifest.id,
        version=version,
        previous_version=previous if previous != version else None,
        outcome=outcome,
        trust=pack.signature.trust,
        signer_name=pack.signature.signer_name,
        documents=row["documents"],
        pages=row["pages"],
        reanchor=reanchor,
        warnings=warnings,
    )
