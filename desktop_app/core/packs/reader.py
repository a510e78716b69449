"""From a pack file to verified contents: archive checks, manifest, signature, hashes,
and the documents' text, all before anything touches the store."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.documents import ExtractedDocument
from desktop_app.core.documents.markdown_html import render_markdown
from desktop_app.core.documents.pdf import extract_pdf
from desktop_app.core.errors import PackError
from desktop_app.core.packs.archive import Limits, check_entry_name, open_archive
from desktop_app.core.packs.manifest import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    SIGNATURE_NAME,
    DocumentEntry,
    Manifest,
    parse_manifest,
)
from desktop_app.core.packs.media_check import check_media
from desktop_app.core.packs.signing import PublicKey, SignatureCheck, check_signature

MAX_SIGNATURE_BYTES = 4096

Progress = Callable[[str, int, int], None]
"""Called as ``progress(what, done, total)`` while long work goes on."""


@dataclass(frozen=True)
class VerifiedPack:
    manifest: Manifest
    manifest_bytes: bytes
    signature: SignatureCheck
    files: dict[str, bytes]

    def media(self) -> dict[str, tuple[str, bytes]]:
        """Files that are not documents, with a media type: images and the like."""
        documents = {doc.path for doc in self.manifest.documents}
        return {
            path: (mimetypes.guess_type(path)[0] or "application/octet-stream", data)
            for path, data in self.files.items()
            if path not in documents
        }


def read_pack(path: Path, trusted: dict[str, PublicKey], limits: Limits | None = None
              ) -> VerifiedPack:
    """Open and check a pack; raise :class:`PackError` naming the first problem found."""
    with open_archive(path, limits) as archive:
        if not archive.has(MANIFEST_NAME):
            raise PackError(f"{path.name} has no manifest.json: it is not a Casebook pack.")
        manifest_bytes = archive.read(MANIFEST_NAME, MAX_MANIFEST_BYTES)
        signature_file = (
            archive.read(SIGNATURE_NAME, MAX_SIGNATURE_BYTES)
            if archive.has(SIGNATURE_NAME) else None
        )
        manifest = parse_manifest(manifest_bytes)
        signature = check_signature(manifest_bytes, signature_file, trusted)

        listed = {entry.path for entry in manifest.files}
        for name in sorted(listed):
            check_entry_name(name)
        unlisted = sorted(archive.names - listed - {MANIFEST_NAME, SIGNATURE_NAME})
        if unlisted:
            raise PackError(
                f"The pack holds files its manifest does not list: {', '.join(unlisted[:5])}."
            )
        missing = sorted(listed - archive.names)
        if missing:
            raise PackError(
                f"The manifest lists files the pack does not hold: {', '.join(missing[:5])}."
            )
        files = {
            entry.path: archive.read_verified(entry.path, entry.size, entry.sha256)
            for entry in manifest.files
        }
    pack = VerifiedPack(manifest, manifest_bytes, signature, files)
    for media_path, (media_type, data) in sorted(pack.media().items()):
        check_media(media_path, media_type, data)
    return pack


def extract_document(doc: DocumentEntry, data: bytes) -> ExtractedDocument:
    if doc.format == "pdf":
        return extract_pdf(data, doc.path)
    return render_markdown(data, doc.path)


def extract_documents(pack: VerifiedPack, progress: Progress | None = None
                      ) -> dict[str, ExtractedDocument]:
    documents = pack.manifest.documents
    extracted = {}
    for done, doc in enumerate(documents):
        if progress:
            progress(f"Reading {doc.title}", done, len(documents))
        extracted[doc.id] = extract_document(doc, pack.files[doc.path])
    if progress:
        progress("Read all documents", len(documents), len(documents))
    return extracted
