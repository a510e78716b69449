"""Pack updates: a publisher's catalogue, read when the reader checks for updates.

A pack's manifest may name a catalogue (``"catalogue": "https://…/catalogue.json"``):
a small JSON file listing the packs the publisher offers, each version with its
address, size and sha256 (docs/pack-format.md). Checking reads the catalogue of
every installed pack that names one and offers each pack's newest version that is
newer than the installed one *and* than any version this library has ever seen
(``pack_history``), so a catalogue can never talk the reader into a downgrade.

The catalogue is a fail-fast check, not the authority: the downloaded file must
match the catalogue's size and sha256 (``download.py``), and then goes through the
same install as a file import, which checks the pack's own signature against the
keys in the store and refuses an unsigned copy of a pack once installed signed. A
catalogue may be signed too (``catalogue.json.sig``, ed25519 over its exact bytes,
by the same publisher keys); a signature that does not match a trusted key makes
Casebook ignore the catalogue.

An old catalogue only warns: an offline laptop has no clock it can trust, so a
date can never be a reason to refuse.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from desktop_app import __version__
from desktop_app.core.errors import CasebookError, PackError
from desktop_app.core.net import NetworkError, explain, make_client
from desktop_app.core.packs import strict_json
from desktop_app.core.packs.archive import Limits, open_archive
from desktop_app.core.packs.manifest import (
    _PACK_ID,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    catalogue_url_problem,
    parse_manifest,
)
from desktop_app.core.packs.signing import PublicKey, SecretKey
from desktop_app.core.packs.trust import trusted_keys
from desktop_app.core.packs.version import PackVersion, version_problem

CATALOGUE_FORMAT = 1
CATALOGUE_NAME = "catalogue.json"
SIGNATURE_SUFFIX = ".sig"
SIGNATURE_TYPE = "casebook-catalogue-signature"
MAX_CATALOGUE_BYTES = 1024 * 1024
MAX_SIGNATURE_BYTES = 4096
MAX_ENTRIES = 10_000
# A pack bigger than the reader would ever open is not worth downloading.
MAX_PACK_BYTES = Limits().archive_bytes
# Past this age (by this computer's clock, which may be wrong) a catalogue is
# mentioned as possibly out of date; it is still used.
STALE_AFTER_DAYS = 365

_SHA256 = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

ClientFactory = Callable[[str], httpx.Client]
"""Makes the HTTP client for one origin (``core.net.make_client``; tests pass their own)."""


class CatalogueError(CasebookError):
    """A catalogue cannot be used: unreachable answer, too big, not JSON, wrong shape,
    or a signature that does not match. Nothing in the store was changed."""


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    version: PackVersion
    title: str
    url: str  # absolute, already checked (https, or http to this computer)
    size: int
    sha256: str
    min_casebook: PackVersion | None = None
    date: str | None = None  # the pack's own date (YYYY-MM-DD), when the catalogue says


@dataclass(frozen=True)
class Catalogue:
    url: str
    publisher: str
    generated: dt.date
    packs: tuple[CatalogueEntry, ...]
    # The trusted publisher key's name when the catalogue carried a good signature.
    signed_by: str | None = None
    # The key id its signature names, trusted or not (None: not signed).
    key_id: str | None = None

    def entries_for(self, pack_id: str) -> list[CatalogueEntry]:
        return [entry for entry in self.packs if entry.id == pack_id]


@dataclass(frozen=True)
class UpdateOffer:
    """A newer version of an installed pack, as a catalogue offers it."""

    pack_id: str
    title: str
    installed_version: str
    version: str
    size: int
    sha256: str
    url: str
    catalogue_url: str

    def as_json(self) -> dict[str, Any]:
        return {"pack": self.pack_id, "title": self.title,
                "installed_version": self.installed_version, "version": self.version,
                "size": self.size, "sha256": self.sha256, "url": self.url,
                "catalogue": self.catalogue_url}


@dataclass
class UpdateCheck:
    """What a check found: offers, and in plain words what went wrong (``problems``:
    a catalogue could not be used) or deserves a mention (``warnings``)."""

    offers: list[UpdateOffer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    catalogues_checked: int = 0

    @property
    def messages(self) -> list[str]:
        return self.problems + self.warnings

    def versions(self) -> dict[str, str]:
        """``{pack_id: offered version}``: what the library panel marks."""
        return {offer.pack_id: offer.version for offer in self.offers}

    def as_json(self) -> dict[str, Any]:
        return {"offers": [offer.as_json() for offer in self.offers],
                "problems": self.problems, "warnings": self.warnings,
                "catalogues_checked": self.catalogues_checked}


# --- reading a catalogue -----------------------------------------------------------------

def parse_catalogue(data: bytes, url: str) -> Catalogue:
    """Parse and check catalogue bytes fetched from ``url`` (relative pack addresses are
    resolved against it); raise :class:`CatalogueError` naming the problem."""
    where = f"The catalogue {url}"
    if len(data) > MAX_CATALOGUE_BYTES:
        raise CatalogueError(f"{where} is over {MAX_CATALOGUE_BYTES:,} bytes; it is ignored.")
    try:
        raw = strict_json.loads(data)
    except strict_json.DuplicateKeyError as exc:
        raise CatalogueError(f"{where} names {exc.key!r} twice in one object; JSON readers "
                             "disagree on which one counts, so it is ignored.") from None
    except (ValueError, RecursionError):  # ValueError covers UnicodeDecodeError
        raise CatalogueError(f"{where} is not JSON (is the address right?).") from None
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where} must hold a JSON object.")
    fmt = raw.get("format")
    if type(fmt) is not int or fmt != CATALOGUE_FORMAT:  # not True, not 1.0
        raise CatalogueError(f"{where} declares format {fmt!r}; this Casebook reads catalogue "
                             f"format {CATALOGUE_FORMAT} only.")
    publisher = _text(raw, "publisher", where)
    generated_text = _text(raw, "generated", where)
    try:
        if not _DATE.fullmatch(generated_text):
            raise ValueError
        generated = dt.date.fromisoformat(generated_text)
    except ValueError:
        raise CatalogueError(
            f"{where}: 'generated' {generated_text!r} is not a date like 2026-11-01.") from None
    items = raw.get("packs")
    if not isinstance(items, list):
        raise CatalogueError(f"{where}: 'packs' must be a list.")
    if len(items) > MAX_ENTRIES:
        raise CatalogueError(f"{where} lists more than {MAX_ENTRIES:,} packs.")
    entries = tuple(_entry(item, f"{where}: packs[{i}]", url) for i, item in enumerate(items))
    seen: set[tuple[str, PackVersion]] = set()
    for entry in entries:
        key = (entry.id, entry.version)
        if key in seen:
            raise CatalogueError(f"{where} lists {entry.id} {entry.version} twice.")
        seen.add(key)
    return Catalogue(url, publisher, generated, entries)


def _entry(item: Any, where: str, base: str) -> CatalogueEntry:
    if not isinstance(item, dict):
        raise CatalogueError(f"{where} must be an object.")
    pack_id = _text(item, "id", where)
    if not _PACK_ID.fullmatch(pack_id):
        raise CatalogueError(f"{where}: 'id' {pack_id!r} is not a pack id like org.example.guide.")
    version_text = _text(item, "version", where)
    problem = version_problem(version_text)
    if problem:
        raise CatalogueError(f"{where}: 'version' {version_text[:80]!r} {problem}.")
    version = PackVersion.parse(version_text)
    address = urljoin(base, _text(item, "url", where))
    problem = catalogue_url_problem(address)
    if problem:
        raise CatalogueError(f"{where}: 'url' {address!r} {problem}.")
    size = item.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_PACK_BYTES:
        raise CatalogueError(f"{where}: 'size' must be a whole number of bytes, at most "
                             f"{MAX_PACK_BYTES:,}.")
    digest = item.get("sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise CatalogueError(f"{where}: 'sha256' must be 64 lowercase hex digits.")
    minimum = None
    if item.get("min_casebook") is not None:
        minimum_text = _text(item, "min_casebook", where)
        problem = version_problem(minimum_text)
        if problem:
            raise CatalogueError(f"{where}: 'min_casebook' {minimum_text[:80]!r} {problem}.")
        minimum = PackVersion.parse(minimum_text)
    date = item.get("date")
    if not (isinstance(date, str) and _DATE.fullmatch(date)):
        date = None  # optional, and only shown: anything else is left out
    return CatalogueEntry(pack_id, version, _text(item, "title", where), address, size, digest,
                          minimum, date)


def _text(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where}: {key!r} must be a non-empty string.")
    if len(value) > 2000:
        raise CatalogueError(f"{where}: {key!r} is longer than 2,000 characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CatalogueError(f"{where}: {key!r} is not valid Unicode text.") from None
    return value


# --- signatures --------------------------------------------------------------------------

def sign_catalogue(data: bytes, secret: SecretKey) -> bytes:
    """``catalogue.json.sig`` for the exact bytes ``data``."""
    signature = Ed25519PrivateKey.from_private_bytes(secret.raw).sign(data)
    body = {"type": SIGNATURE_TYPE, "algorithm": "ed25519", "key_id": secret.public.key_id,
            "signature": base64.b64encode(signature).decode("ascii")}
    return json.dumps(body, indent=2).encode("utf-8") + b"\n"


def signature_key_id(signature_file: bytes) -> str | None:
    """The key id a catalogue signature names (it was checked, or found unreadable, by
    :func:`check_catalogue_signature` first)."""
    try:
        key_id = json.loads(signature_file.decode("utf-8")).get("key_id")
    except (ValueError, RecursionError, AttributeError):
        return None
    return key_id if isinstance(key_id, str) and re.fullmatch(r"[0-9a-f]{16}", key_id) else None


def check_catalogue_signature(data: bytes, signature_file: bytes, url: str,
                              trusted: dict[str, PublicKey]) -> str | None:
    """The trusted signer's name; None when the key is not one the reader trusts (the
    catalogue is then used as an unsigned one: each pack's own signature still decides).
    Raises :class:`CatalogueError` for an unreadable or non-matching signature."""
    where = f"The catalogue {url}"
    try:
        body = strict_json.loads(signature_file)
        kind, algorithm, key_id = body["type"], body["algorithm"], body["key_id"]
        signature = base64.b64decode(body["signature"], validate=True)
    except strict_json.DuplicateKeyError as exc:
        raise CatalogueError(f"{where} has a signature file that names {exc.key!r} twice; "
                             "the catalogue is ignored.") from None
    except (ValueError, RecursionError, KeyError, TypeError, binascii.Error):
        raise CatalogueError(f"{where} has a signature file that is not a readable Casebook "
                             "catalogue signature; the catalogue is ignored.") from None
    if kind != SIGNATURE_TYPE or algorithm != "ed25519" or not isinstance(key_id, str):
        raise CatalogueError(f"{where} has a signature of an unsupported kind; the catalogue "
                             "is ignored.")
    key = trusted.get(key_id)
    if key is None:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(key.raw).verify(signature, data)
    except InvalidSignature:
        raise CatalogueError(
            f"{where} does not match its signature by {key.name!r} ({key_id}): it was altered "
            "after signing or the signature is forged. The catalogue is ignored.") from None
    return key.name


# --- fetching ----------------------------------------------------------------------------

def origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def fetch_catalogue(url: str, trusted: dict[str, PublicKey],
                    client_factory: ClientFactory = make_client) -> Catalogue:
    """Fetch, check and parse one catalogue (and its signature, if it has one).

    Raises :class:`NetworkError` (the site could not be reached) or
    :class:`CatalogueError` (it answered with something that is not a usable catalogue).
    """
    problem = catalogue_url_problem(url)
    if problem:
        raise CatalogueError(f"The catalogue address {url!r} {problem}.")
    site = origin(url)
    try:
        with client_factory(site) as client:
            final, data = _get_capped(client, url, MAX_CATALOGUE_BYTES, "catalogue")
            parts = urlsplit(final)
            # Optional: any answer but 200 means "not signed" (S3 says 403 for a missing
            # file). Leaving the signature out is open to whoever can change the
            # catalogue anyway; the packs' own signatures are what install checks.
            _, signature = _get_capped(
                client, urlunsplit(parts._replace(path=parts.path + SIGNATURE_SUFFIX)),
                MAX_SIGNATURE_BYTES, "catalogue signature", optional=True)
    except httpx.HTTPError as exc:
        raise explain(exc, site) from exc
    catalogue = parse_catalogue(data, final)
    if signature is None:
        return catalogue
    signer = check_catalogue_signature(data, signature, final, trusted)
    return Catalogue(catalogue.url, catalogue.publisher, catalogue.generated, catalogue.packs,
                     signer, signature_key_id(signature))


def _get_capped(client: httpx.Client, url: str, limit: int, what: str,
                optional: bool = False) -> tuple[str, bytes | None]:
    """(final address, body) of a 200 answer; reading stops as soon as the body passes
    ``limit``. Any other answer raises, or gives (address, None) when ``optional``."""
    with client.stream("GET", url, follow_redirects=True) as response:
        final = str(response.url)
        problem = catalogue_url_problem(final)
        if problem:
            raise CatalogueError(f"The {what} {url} sent Casebook on to {final}, which {problem}.")
        if response.status_code != 200:
            if optional:
                return final, None
            missing = " (there is no such file)" if response.status_code in (404, 410) else ""
            raise CatalogueError(f"The {what} {url} could not be read: the site answered "
                                 f"{response.status_code} {response.reason_phrase}{missing}.")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise CatalogueError(f"The {what} {url} is {int(declared):,} bytes; the limit is "
                                 f"{limit:,}. It is ignored.")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise CatalogueError(f"The {what} {url} is over {limit:,} bytes; it is ignored.")
        return final, bytes(body)


# --- checking for updates ----------------------------------------------------------------

@dataclass(frozen=True)
class _Installed:
    pack_id: str
    title: str
    version: PackVersion
    highest_seen: PackVersion


def check_updates(conn: sqlite3.Connection, client_factory: ClientFactory = make_client, *,
                  today: dt.date | None = None) -> UpdateCheck:
    """Read the catalogue of every active pack that names one; return the offers.

    Reads the store only. A catalogue that cannot be reached or used becomes a message
    in ``problems``; nothing is raised for it, and the other catalogues are still read.
    """
    result = UpdateCheck()
    by_catalogue: dict[str, list[_Installed]] = {}
    rows = conn.execute(
        "SELECT p.pack_id, p.version, p.title, p.manifest, h.highest_version FROM packs p "
        "LEFT JOIN pack_history h ON h.pack_id = p.pack_id "
        "WHERE p.active = 1 AND p.trust != 'local' ORDER BY p.title COLLATE NOCASE, p.pack_id"
    ).fetchall()
    for row in rows:
        try:
            manifest = parse_manifest(row["manifest"].encode("utf-8"))
        except PackError:
            continue  # a manifest this version cannot read names no catalogue it could use
        if manifest.catalogue:
            version = PackVersion.parse(row["version"])
            highest = (PackVersion.parse(row["highest_version"]) if row["highest_version"]
                       else version)
            by_catalogue.setdefault(manifest.catalogue, []).append(
                _Installed(row["pack_id"], row["title"], version, max(version, highest)))
    if not by_catalogue:
        return result
    trusted = trusted_keys(conn)
    today = today or dt.date.today()
    for url, installed in by_catalogue.items():
        names = ", ".join(pack.title for pack in installed)
        try:
            catalogue = fetch_catalogue(url, trusted, client_factory)
        except (NetworkError, CatalogueError) as exc:
            result.problems.append(f"Updates for {names} could not be checked. {exc}")
            continue
        result.catalogues_checked += 1
        age = (today - catalogue.generated).days
        if age > STALE_AFTER_DAYS:
            result.warnings.append(
                f"The catalogue {url} (for {names}) was made on {catalogue.generated}, "
                f"{age} days ago by this computer's clock: it may be out of date or an old "
                "copy. It was still used.")
        for pack in installed:
            offer, warning = _offer(pack, catalogue)
            if offer:
                result.offers.append(offer)
            if warning:
                result.warnings.append(warning)
    return result


def check_updates_in(store_file: Path, client_factory: ClientFactory = make_client
                     ) -> UpdateCheck:
    """:func:`check_updates` on a read-only connection of its own: for a worker thread
    (a connection belongs to the thread that opened it)."""
    if not store_file.is_file():
        return UpdateCheck()
    with read_only_store(store_file) as conn:
        return check_updates(conn, client_factory)


@contextmanager
def read_only_store(store_file: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection of its own, for a worker thread."""
    conn = sqlite3.connect(store_file.resolve().as_uri() + "?mode=ro", uri=True,
                           isolation_level=None, timeout=5.0)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        yield conn
    finally:
        conn.close()


def _offer(pack: _Installed, catalogue: Catalogue) -> tuple[UpdateOffer | None, str | None]:
    newer = sorted((entry for entry in catalogue.entries_for(pack.pack_id)
                    if entry.version > pack.highest_seen),
                   key=lambda entry: entry.version, reverse=True)
    if not newer:
        return None, None
    this = PackVersion.parse(__version__)
    usable = [entry for entry in newer if entry.min_casebook is None or entry.min_casebook <= this]
    warning = None
    if not usable or usable[0] is not newer[0]:
        best = newer[0]
        warning = (f"{best.title} {best.version} needs Casebook {best.min_casebook} or later "
                   f"(this is {__version__}); update Casebook to get it.")
    if not usable:
        return None, warning
    entry = usable[0]
    return UpdateOffer(pack.pack_id, entry.title, str(pack.version), str(entry.version),
                       entry.size, entry.sha256, entry.url, catalogue.url), warning


# --- for publishers ----------------------------------------------------------------------

def build_catalogue(packs: Iterable[Path], publisher: str, generated: dt.date,
                    base_url: str = "") -> bytes:
    """``catalogue.json`` bytes listing the given pack files; each ``url`` is the file's
    name after ``base_url`` (empty: relative to the catalogue, beside it)."""
    entries = []
    for path in sorted(packs):
        with open_archive(path) as archive:
            if not archive.has(MANIFEST_NAME):
                raise PackError(f"{path.name} has no manifest.json: it is not a Casebook pack.")
            manifest = parse_manifest(archive.read(MANIFEST_NAME, MAX_MANIFEST_BYTES))
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda handle=handle: handle.read(1024 * 1024), b""):
                digest.update(chunk)
        entries.append({"id": manifest.id, "version": str(manifest.version),
                        "title": manifest.title, "date": manifest.date,
                        "url": base_url + path.name,
                        "size": path.stat().st_size, "sha256": digest.hexdigest()})
    raw = {"format": CATALOGUE_FORMAT, "publisher": publisher,
           "generated": generated.isoformat(), "packs": entries}
    return (json.dumps(raw, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
