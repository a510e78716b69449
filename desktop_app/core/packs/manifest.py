"""``manifest.json``: its schema, and a strict reader that names what is wrong."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from desktop_app.core.errors import PackError
from desktop_app.core.packs import strict_json
from desktop_app.core.packs.version import PackVersion, version_problem

FORMAT = 1
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
MAX_MANIFEST_BYTES = 1024 * 1024

DOCUMENT_KINDS = ("guide", "case-study")
# Ids under local. belong to collections the reader makes (My documents); a pack
# claiming one could replace them.
RESERVED_ID_PREFIX = "local."
MEDIA_TYPES = {"application/pdf": "pdf", "text/markdown": "markdown"}
_PACK_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}(\.[a-z0-9][a-z0-9-]{0,62}){1,7}")
_DOC_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Plain http only to this computer (tests, a publisher previewing a catalogue locally).
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DocumentEntry:
    id: str
    kind: str
    title: str
    path: str
    media_type: str
    post: str | None = None

    @property
    def format(self) -> str:
        return MEDIA_TYPES[self.media_type]


@dataclass(frozen=True)
class Site:
    kind: str
    url: str


@dataclass(frozen=True)
class Manifest:
    id: str
    version: PackVersion
    title: str
    publisher: str
    date: str
    language: str
    licence: str
    documents: tuple[DocumentEntry, ...]
    files: tuple[FileEntry, ...]
    subtitle: str = ""
    site: Site | None = None
    # The publisher's update catalogue (docs/pack-format.md, "catalogue.json").
    catalogue: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def file(self, path: str) -> FileEntry:
        return next(f for f in self.files if f.path == path)


def parse_manifest(data: bytes) -> Manifest:
    """Parse and validate manifest bytes; raise :class:`PackError` naming the problem."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise PackError(
            f"manifest.json is {len(data):,} bytes; the limit is {MAX_MANIFEST_BYTES:,}."
        )
    try:
        raw = strict_json.loads(data)
    except strict_json.DuplicateKeyError as exc:
        raise PackError(
            f"manifest.json names {exc.key!r} twice in one object; JSON readers disagree "
            "on which one counts, so the manifest is refused."
        ) from None
    # ValueError, not only JSONDecodeError: json.loads raises a plain ValueError for an
    # integer of more than 4,300 digits (tests/fuzz/test_manifest_fuzz.py).
    except (ValueError, RecursionError) as exc:
        raise PackError(f"manifest.json is not valid JSON ({exc}).") from None
    if not isinstance(raw, dict):
        raise PackError("manifest.json must hold a JSON object.")
    fmt = raw.get("format")
    # type() is int: True == 1 and 1.0 == 1, and neither is the whole number 1.
    if type(fmt) is not int or fmt != FORMAT:
        raise PackError(
            f"manifest.json declares format {fmt!r}; this Casebook reads format {FORMAT} only."
        )
    version_text = _str(raw, "version")
    problem = version_problem(version_text)
    if problem:
        raise PackError(f"manifest.json: 'version' {version_text[:80]!r} {problem}.")
    version = PackVersion.parse(version_text)
    pack_id = _str(raw, "id")
    if not _PACK_ID.fullmatch(pack_id):
        raise PackError(
            f"manifest.json: 'id' {pack_id!r} is not a reverse-DNS name like org.example.guide."
        )
    if pack_id.startswith(RESERVED_ID_PREFIX):
        raise PackError(
            f"manifest.json: the id {pack_id!r} is reserved for the reader's own documents."
        )
    date = _str(raw, "date")
    if not _DATE.fullmatch(date):
        raise PackError(f"manifest.json: 'date' {date!r} is not a date like 2026-11-01.")

    files = tuple(_file(item, i) for i, item in enumerate(_list(raw, "files")))
    seen: set[str] = set()
    for entry in files:
        if entry.path in seen:
            raise PackError(f"manifest.json lists {entry.path!r} twice.")
        seen.add(entry.path)
    if MANIFEST_NAME in seen or SIGNATURE_NAME in seen:
        raise PackError("manifest.json must not list itself or its signature.")

    documents = tuple(_document(item, i) for i, item in enumerate(_list(raw, "documents")))
    if not documents:
        raise PackError("manifest.json lists no documents.")
    doc_ids: set[str] = set()
    for doc in documents:
        if doc.id in doc_ids:
            raise PackError(f"manifest.json has two documents with id {doc.id!r}.")
        doc_ids.add(doc.id)
        if doc.path not in seen:
            raise PackError(f"Document {doc.id!r} names {doc.path!r}, which 'files' does not list.")

    site = None
    if raw.get("site") is not None:
        site_raw = raw["site"]
        if not isinstance(site_raw, dict):
            raise PackError("manifest.json: 'site' must be an object.")
        kind, url = _str(site_raw, "kind", "site"), _str(site_raw, "url", "site")
        if kind != "wordpress":
            raise PackError(f"manifest.json: site kind {kind!r} is not supported (only wordpress).")
        if not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", url):
            raise PackError(f"manifest.json: site url {url!r} is not an http(s) address.")
        site = Site(kind, url)

    catalogue = None
    if raw.get("catalogue") is not None:
        catalogue = _str(raw, "catalogue")
        problem = catalogue_url_problem(catalogue)
        if problem:
            raise PackError(f"manifest.json: 'catalogue' {catalogue!r} {problem}.")

    return Manifest(
        id=pack_id,
        version=version,
        title=_str(raw, "title"),
        publisher=_str(raw, "publisher"),
        date=date,
        language=_str(raw, "language"),
        licence=_str(raw, "licence"),
        subtitle=_str(raw, "subtitle") if "subtitle" in raw else "",
        documents=documents,
        files=files,
        site=site,
        catalogue=catalogue,
        raw=raw,
    )


def catalogue_url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as the address of a catalogue or of a download, or None.

    https only; plain http is accepted for this computer alone (127.0.0.1, localhost).
    """
    if not isinstance(url, str) or len(url) > 2000 or re.search(r"[\s\x00-\x1f\x7f]", url):
        return "is not a web address"
    try:
        parts = urlsplit(url)
        if parts.port == 0:  # .port raises ValueError for a port that is not a number
            return "is not a web address"
    except ValueError:
        return "is not a web address"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not an https address"
    if parts.username is not None or parts.password is not None:
        return "must not hold a user name or password"
    if parts.fragment:
        return "must not hold a #fragment"
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        return "must be an https address (plain http is accepted only for 127.0.0.1)"
    return None


def manifest_bytes(raw: dict[str, Any]) -> bytes:
    """The canonical bytes of a manifest, as the builder writes and signs them."""
    return (json.dumps(raw, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _str(obj: dict[str, Any], key: str, where: str = "manifest") -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PackError(f"manifest.json: {where} field {key!r} must be a non-empty string.")
    if len(value) > 1000:
        raise PackError(f"manifest.json: {where} field {key!r} is longer than 1,000 characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # JSON can spell a lone surrogate ("\ud800"); such a string is no text: SQLite
        # cannot store it and a path check cannot encode it (tests/fuzz).
        raise PackError(f"manifest.json: {where} field {key!r} is not valid Unicode text.") \
            from None
    return value


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise PackError(f"manifest.json: {key!r} must be a list.")
    if len(value) > 10_000:
        raise PackError(f"manifest.json: {key!r} has more than 10,000 entries.")
    return value


def _file(item: Any, index: int) -> FileEntry:
    where = f"files[{index}]"
    if not isinstance(item, dict):
        raise PackError(f"manifest.json: {where} must be an object.")
    path = _str(item, "path", where)
    size = item.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise PackError(f"manifest.json: {where} 'size' must be a whole number of bytes.")
    digest = item.get("sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise PackError(f"manifest.json: {where} 'sha256' must be 64 lowercase hex digits.")
    return FileEntry(path, size, digest)


def _document(item: Any, index: int) -> DocumentEntry:
    where = f"documents[{index}]"
    if not isinstance(item, dict):
        raise PackError(f"manifest.json: {where} must be an object.")
    doc_id = _str(item, "id", where)
    if not _DOC_ID.fullmatch(doc_id):
        raise PackError(f"manifest.json: {where} id {doc_id!r} must be lowercase letters, "
                        "digits and hyphens.")
    kind = _str(item, "kind", where)
    if kind not in DOCUMENT_KINDS:
        raise PackError(f"manifest.json: {where} kind {kind!r} is not one of "
                        f"{', '.join(DOCUMENT_KINDS)}.")
    media_type = _str(item, "media_type", where)
    if media_type not in MEDIA_TYPES:
        raise PackError(f"manifest.json: {where} media type {media_type!r} is not supported.")
    post = item.get("post")
    if post is not None and (isinstance(post, bool) or not isinstance(post, int | str)):
        raise PackError(f"manifest.json: {where} 'post' must be a number or a string.")
    return DocumentEntry(
        id=doc_id,
        kind=kind,
        title=_str(item, "title", where),
        path=_str(item, "path", where),
        media_type=media_type,
        post=None if post is None else str(post),
    )
