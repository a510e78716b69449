"""Trust on first use, made explicit: a catalogue signed by a key the reader does not
trust yet.

The catalogue names its key only by id; the key itself is published beside it
(``publisher.pub``, written by ``casebook publish``). Casebook fetches it, checks that
it is the key the signature names and that the signature holds with it, and then asks
the reader once, showing the key's fingerprint and the names the publisher gives
itself. The answer is stored: a trusted key joins ``publisher_keys`` (origin
``user``, removable with ``casebook keys remove`` or the Keys dialog, as any
key), a refused one is remembered so the reader is not asked again (``forget_refusal``
undoes that). Packs signed with a trusted key install as signed, as a file import
would; nothing is trusted without the reader's yes.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

from desktop_app.core.errors import CasebookError
from desktop_app.core.net import NetworkError, explain, make_client
from desktop_app.core.packs.browse import CatalogueListing, browse
from desktop_app.core.packs.catalogue import (
    CatalogueError,
    ClientFactory,
    _get_capped,
    fetch_catalogue,
    origin,
    read_only_store,
)
from desktop_app.core.packs.signing import PublicKey, parse_public_key
from desktop_app.core.packs.trust import trust_key, trusted_keys
from desktop_app.core.settings import get_setting, set_setting

KEY_NAME = "publisher.pub"
MAX_KEY_BYTES = 4096
REFUSED = "catalogue_keys.refused"  # settings: key ids the reader said no to
# The reader's own decision, as for a key file they add (the store allows 'bundled' and
# 'user' only: a new origin would need a migration for no gain).
ORIGIN = "user"


@dataclass(frozen=True)
class KeyQuestion:
    """What the reader is asked about a catalogue's key, once."""

    key: PublicKey
    publisher: str  # the name in the catalogue
    catalogue_url: str

    @property
    def fingerprint(self) -> str:
        """The sha256 of the key, in groups of four: to compare with what the publisher
        prints on its website or says on the phone."""
        digest = hashlib.sha256(self.key.raw).hexdigest()
        return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))

    @property
    def words(self) -> str:
        return (f"The catalogue of {self.publisher} ({self.catalogue_url}) is signed with a key "
                f"this library does not trust yet. The key calls itself {self.key.name!r}; "
                f"its id is {self.key.key_id} and its fingerprint is\n{self.fingerprint}.\n"
                "Trust it only if the publisher confirms this fingerprint. Packs signed with "
                "it will then install as signed.")


def refused_keys(conn: sqlite3.Connection) -> list[str]:
    value = get_setting(conn, REFUSED, [])
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def key_question(conn: sqlite3.Connection, listing: CatalogueListing,
                 client_factory: ClientFactory = make_client) -> KeyQuestion | None:
    """The question to ask about ``listing``'s key, or None: signed by a trusted key,
    not signed, refused before, or no usable key published beside it. Reads only."""
    catalogue = listing.catalogue
    if catalogue.signed_by or not catalogue.key_id or catalogue.key_id in refused_keys(conn):
        return None
    address = urljoin(catalogue.url, KEY_NAME)
    site = origin(address)
    try:
        with client_factory(site) as client:
            _, data = _get_capped(client, address, MAX_KEY_BYTES, "publisher key",
                                  optional=True)
    except httpx.HTTPError as exc:
        raise NetworkError(str(explain(exc, site))) from exc
    if data is None:
        return None
    key = parse_public_key(data, address)
    if key.key_id != catalogue.key_id:
        return None  # not the key that signed: nothing to ask about
    # The signature must hold with this key before the reader is asked to trust it.
    checked = fetch_catalogue(catalogue.url, {key.key_id: key}, client_factory)
    if checked.signed_by is None:
        raise CatalogueError(f"The catalogue {catalogue.url} does not match the key "
                             "published beside it; it is used as an unsigned catalogue.")
    return KeyQuestion(key, catalogue.publisher, catalogue.url)


def browse_with_question(store_file: Path, address: str,
                         client_factory: ClientFactory = make_client
                         ) -> tuple[CatalogueListing, KeyQuestion | None, str]:
    """For a worker thread: the listing, the question to ask about its key (if any), and
    in words why the key could not be asked about (its problem does not stop the list)."""
    with read_only_store(store_file) as conn:
        listing = browse(conn, address, client_factory)
        try:
            return listing, key_question(conn, listing, client_factory), ""
        except CasebookError as exc:
            return listing, None, str(exc)


def answer(conn: sqlite3.Connection, question: KeyQuestion, trust: bool) -> None:
    """Store the reader's decision."""
    if trust:
        trust_key(conn, question.key, origin=ORIGIN)
        if question.key.key_id not in trusted_keys(conn):  # INSERT OR IGNORE says nothing
            raise CasebookError(f"The key {question.key.key_id} could not be stored.")
        forget_refusal(conn, question.key.key_id)
        return
    refused = refused_keys(conn)
    if question.key.key_id not in refused:
        set_setting(conn, REFUSED, [*refused, question.key.key_id])


def forget_refusal(conn: sqlite3.Connection, key_id: str) -> bool:
    """Ask again next time; False if that key was not refused."""
    refused = refused_keys(conn)
    if key_id not in refused:
        return False
    set_setting(conn, REFUSED, [item for item in refused if item != key_id])
    return True
