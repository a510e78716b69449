"""Browsing a publisher's catalogue (File › Get packs…, ``casebook catalogue``).

The update check (``catalogue.py``) only looks at packs already installed; this lists
everything a catalogue offers, each pack with its newest version this Casebook can
read, and whether the library has it. Installing goes through ``download.py`` and so
through exactly the path of a file import: the pack's own signature against the
reader's trusted keys, the version policy, notes re-anchored, one transaction.

A catalogue's address comes from an installed pack's manifest, from a ``.cbcat`` link
file the publisher hands out (``{"type": "casebook-catalogue-link", "url": …}``), or
typed by the reader.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app import __version__
from desktop_app.core.errors import PackError
from desktop_app.core.library import list_packs
from desktop_app.core.net import make_client
from desktop_app.core.packs.catalogue import (
    Catalogue,
    CatalogueEntry,
    CatalogueError,
    ClientFactory,
    UpdateOffer,
    fetch_catalogue,
)
from desktop_app.core.packs.download import install_update
from desktop_app.core.packs.install import InstallResult
from desktop_app.core.packs.manifest import catalogue_url_problem, parse_manifest
from desktop_app.core.packs.reader import Progress
from desktop_app.core.packs.trust import trusted_keys
from desktop_app.core.packs.version import PackVersion

LINK_TYPE = "casebook-catalogue-link"
LINK_SUFFIX = ".cbcat"
MAX_LINK_BYTES = 64 * 1024

# What the library has of an offered pack.
NOT_INSTALLED, INSTALLED, UPDATE, NEWER_INSTALLED = (
    "not-installed", "installed", "update", "newer-installed")
STATE_WORDS = {NOT_INSTALLED: "not installed", INSTALLED: "installed",
               UPDATE: "update available", NEWER_INSTALLED: "a newer version is installed"}


@dataclass(frozen=True)
class OfferedPack:
    entry: CatalogueEntry
    installed_version: str | None
    state: str

    def as_json(self) -> dict[str, Any]:
        entry = self.entry
        return {"pack": entry.id, "title": entry.title, "version": str(entry.version),
                "size": entry.size, "date": entry.date, "url": entry.url,
                "installed_version": self.installed_version, "state": self.state}


@dataclass(frozen=True)
class CatalogueListing:
    catalogue: Catalogue
    packs: tuple[OfferedPack, ...]

    @property
    def signature_words(self) -> str:
        """Who vouches for the list (each pack's own signature is checked at install)."""
        if self.catalogue.signed_by:
            return f"signed by {self.catalogue.signed_by}"
        if self.catalogue.key_id:
            return f"signed by a key you do not trust yet ({self.catalogue.key_id})"
        return "not signed"

    def find(self, pack_id: str) -> OfferedPack:
        for offered in self.packs:
            if offered.entry.id == pack_id:
                return offered
        raise CatalogueError(f"The catalogue {self.catalogue.url} does not offer {pack_id} "
                             "(casebook catalogue list shows what it offers).")

    def search(self, text: str) -> list[OfferedPack]:
        words = text.lower().split()
        return [offered for offered in self.packs
                if all(word in f"{offered.entry.title} {offered.entry.id}".lower()
                       for word in words)]

    def as_json(self) -> dict[str, Any]:
        return {"catalogue": self.catalogue.url, "publisher": self.catalogue.publisher,
                "generated": self.catalogue.generated.isoformat(),
                "signed_by": self.catalogue.signed_by, "key_id": self.catalogue.key_id,
                "packs": [offered.as_json() for offered in self.packs]}


def size_words(size: int) -> str:
    return (f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024
            else f"{max(1, round(size / 1024))} KB")


def catalogue_address(text: str) -> str:
    """A catalogue's address from what the reader has: its address, or a ``.cbcat``
    link file (a path on this computer)."""
    text = text.strip()
    if text.lower().endswith(LINK_SUFFIX) and "://" not in text:
        return read_link_file(Path(text))
    problem = catalogue_url_problem(text)
    if problem:
        raise CatalogueError(f"The catalogue address {text!r} {problem}.")
    return text


def read_link_file(path: Path) -> str:
    """The catalogue address in a ``.cbcat`` file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_LINK_BYTES + 1)
    except OSError as exc:
        raise CatalogueError(f"Cannot read {path} ({exc.strerror}).") from None
    try:
        raw = json.loads(data.decode("utf-8")) if len(data) <= MAX_LINK_BYTES else None
    except (ValueError, RecursionError):
        raw = None
    url = raw.get("url") if isinstance(raw, dict) and raw.get("type") == LINK_TYPE else None
    if not isinstance(url, str):
        raise CatalogueError(f"{path} is not a Casebook catalogue link (.cbcat) file.")
    problem = catalogue_url_problem(url)
    if problem:
        raise CatalogueError(f"{path} names the catalogue {url!r}, which {problem}.")
    return url


def link_file_bytes(url: str, publisher: str) -> bytes:
    """A ``.cbcat`` file for the publisher to hand out."""
    body = {"type": LINK_TYPE, "format": 1, "url": url, "publisher": publisher}
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def known_catalogues(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(address, the installed packs naming it) for every catalogue the library knows."""
    found: dict[str, list[str]] = {}
    for row in conn.execute("SELECT title, manifest FROM packs WHERE active = 1 "
                            "AND trust != 'local' ORDER BY title COLLATE NOCASE"):
        try:
            manifest = parse_manifest(row["manifest"].encode("utf-8"))
        except PackError:
            continue
        if manifest.catalogue:
            found.setdefault(manifest.catalogue, []).append(row["title"])
    return [(url, ", ".join(titles)) for url, titles in found.items()]


def browse(conn: sqlite3.Connection, address: str,
           client_factory: ClientFactory = make_client) -> CatalogueListing:
    """What the catalogue at ``address`` offers, and what the library has of it.
    Reads the store only. Raises NetworkError or CatalogueError."""
    catalogue = fetch_catalogue(catalogue_address(address), trusted_keys(conn), client_factory)
    installed = {info.pack_id: info.version for info in list_packs(conn)
                 if info.trust != "local"}
    this = PackVersion.parse(__version__)
    newest: dict[str, CatalogueEntry] = {}
    for entry in catalogue.packs:
        if entry.min_casebook is not None and entry.min_casebook > this:
            continue
        if entry.id not in newest or entry.version > newest[entry.id].version:
            newest[entry.id] = entry
    offered = []
    for entry in sorted(newest.values(), key=lambda e: (e.title.lower(), e.id)):
        have = installed.get(entry.id)
        if have is None:
            state = NOT_INSTALLED
        else:
            have_version = PackVersion.parse(have)
            state = (INSTALLED if have_version == entry.version else
                     UPDATE if have_version < entry.version else NEWER_INSTALLED)
        offered.append(OfferedPack(entry, have, state))
    return CatalogueListing(catalogue, tuple(offered))


def install_offered(conn: sqlite3.Connection, listing: CatalogueListing, pack_id: str,
                    dest_dir: Path, *, progress: Progress | None = None,
                    stop: threading.Event | None = None, allow_unsigned: bool = False,
                    client_factory: ClientFactory = make_client) -> InstallResult:
    """Download the offered pack (resumably) and install it as a file import is."""
    offered = listing.find(pack_id)
    entry = offered.entry
    if offered.state == INSTALLED:
        raise CatalogueError(f"{entry.title} {entry.version} is installed already.")
    if offered.state == NEWER_INSTALLED:
        raise CatalogueError(f"{entry.title} {offered.installed_version} is installed, newer "
                             f"than the catalogue's {entry.version}.")
    offer = UpdateOffer(entry.id, entry.title, offered.installed_version or "",
                        str(entry.version), entry.size, entry.sha256, entry.url,
                        listing.catalogue.url)
    return install_update(conn, offer, dest_dir, progress=progress, stop=stop,
                          allow_unsigned=allow_unsigned, client_factory=client_factory)
