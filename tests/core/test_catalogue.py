"""Pack updates from a publisher's catalogue, against a real HTTP server on 127.0.0.1.

The server (stdlib ``http.server`` in a thread) serves a folder, answers ``Range``
requests itself, and can cut a file's connection half-way, ignore ranges, or send a
file without a length. Packs are real: built with the pack factory or from the
sample sources, installed into real stores. Nothing here mocks HTTP or the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
import shutil
import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from desktop_app import cli
from desktop_app.core.annotations.store import annotate_quote, get_annotation
from desktop_app.core.errors import PackError, SignatureError
from desktop_app.core.library import active_document, open_library
from desktop_app.core.net import NetworkError
from desktop_app.core.packs.builder import build_pack
from desktop_app.core.packs.catalogue import (
    MAX_CATALOGUE_BYTES,
    CatalogueError,
    UpdateOffer,
    check_updates,
    check_updates_in,
    fetch_catalogue,
    parse_catalogue,
    sign_catalogue,
)
from desktop_app.core.packs.download import (
    DownloadCancelled,
    DownloadError,
    download,
    install_update,
    part_path,
)
from desktop_app.core.packs.install import install_pack, rollback_pack
from desktop_app.core.packs.manifest import manifest_bytes, parse_manifest
from desktop_app.core.packs.signing import (
    SecretKey,
    generate_key,
    load_secret_key,
    public_key_json,
    write_key_pair,
)
from desktop_app.core.packs.trust import trusted_keys
from desktop_app.sample import BUNDLED_KEYS, SAMPLE_KEY, SAMPLE_SOURCE
from tests.helpers import direct_connections
from tests.packfactory import PackFactory

PACK = "org.example.sample"
SAMPLE = "org.casebook.sample.local-by-social"
# In the sample guide; edition 1.1.0 moves its section up the chapter.
MOVED = "It is better to run two accounts well than six badly."


# --- the server ----------------------------------------------------------------------------

@dataclass
class Served:
    """What the server does, and what it was asked."""

    root: Path
    cut_after: dict[str, int] = field(default_factory=dict)  # path -> bytes, then hang up (once)
    ignore_range: bool = False
    no_length: bool = False  # no Content-Length: the body ends when the connection closes
    range_piece: int | None = None  # answer a range with only this many bytes of it
    range_from_zero: bool = False  # answer a range with 206 for bytes 0-… (not what was asked)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)

    def reset(self) -> None:
        self.cut_after.clear()
        self.ignore_range = self.no_length = self.range_from_zero = False
        self.range_piece = None
        self.requests.clear()


class Handler(BaseHTTPRequestHandler):
    served: Served  # set on the subclass the server uses

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        served = self.served
        path = urlsplit(self.path).path.lstrip("/")
        served.requests.append((path, self.headers.get("Range")))
        target = served.root / path
        if not path or ".." in path.split("/") or not target.is_file():
            self.send_error(404)
            return
        data = target.read_bytes()
        status, start = 200, 0
        asked = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if asked and not served.ignore_range:
            start = int(asked[1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
            if served.range_from_zero:
                start = 0
        end = len(data) if served.range_piece is None or status != 206 else min(
            len(data), start + served.range_piece)
        body = data[start:end]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        if not served.no_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = served.cut_after.pop(path, None)
        try:
            if cut is not None:
                # Part of the file, then the connection drops: the body is short of its length.
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)
        except ConnectionError:
            self.close_connection = True  # the client stopped reading (cancel, too big)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    served = Served(tmp_path_factory.mktemp("site"))
    handler = type("ServedHandler", (Handler,), {"served": served})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def _direct_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    direct_connections(monkeypatch)


class Site:
    """One test's folder on the server: its packs and its catalogue."""

    def __init__(self, served: Served, base: str, name: str) -> None:
        self.served = served
        self.name = name
        self.folder = served.root / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.url = f"{base}/{name}/"
        self.catalogue_url = self.url + "catalogue.json"

    def publish(self, pack: Path, **changes: Any) -> dict[str, Any]:
        """Put the pack on the site; its catalogue entry, with any field changed."""
        shutil.copyfile(pack, self.folder / pack.name)
        manifest = parse_manifest(_manifest_of(pack))
        data = pack.read_bytes()
        entry = {"id": manifest.id, "version": str(manifest.version), "title": manifest.title,
                 "url": pack.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        return {**entry, **changes}

    def catalogue(self, entries: list[dict[str, Any]], *, generated: str | None = None,
                  key: SecretKey | None = None, **top: Any) -> bytes:
        raw = {"format": 1, "publisher": "Test Publisher",
               "generated": generated or dt.date.today().isoformat(), "packs": entries, **top}
        data = json.dumps(raw, indent=2).encode()
        self.write("catalogue.json", data)
        if key is not None:
            self.write("catalogue.json.sig", sign_catalogue(data, key))
        return data

    def write(self, name: str, data: bytes) -> None:
        (self.folder / name).write_bytes(data)

    def path(self, pack: Path) -> str:
        return f"{self.name}/{pack.name}"


def _manifest_of(pack: Path) -> bytes:
    import zipfile

    with zipfile.ZipFile(pack) as zf:
        return zf.read("manifest.json")


@pytest.fixture(autouse=True)
def _fresh_server(server: tuple[Served, str]) -> None:
    server[0].reset()


@pytest.fixture
def site(server: tuple[Served, str], request: pytest.FixtureRequest) -> Site:
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    return Site(server[0], server[1], name)


def versioned(packs: PackFactory, site: Site, version: str, *, sign: bool = True,
              pack_id: str = PACK, catalogue: str | None = None) -> Path:
    """A factory pack that names ``site``'s catalogue."""
    spec = packs.spec(pack_id=pack_id, version=version,
                      guide_pages=[f"Edition {version}. " + "Plan your channels. " * 5,
                                   "Moderation and risk. Agree house rules early."])
    spec.fields["catalogue"] = catalogue or site.catalogue_url
    # Incompressible bytes, so the file takes many reads to arrive.
    spec.files["media/filler.bin"] = random.Random(version).randbytes(300_000)
    return packs.write(spec, sign=sign)


def snapshot(conn: sqlite3.Connection) -> tuple[list, list, list]:
    """Everything an update could change."""
    return (
        [tuple(r) for r in conn.execute(
            "SELECT pack_id, version, active, manifest_sha256 FROM packs ORDER BY 1, 2")],
        [tuple(r) for r in conn.execute("SELECT * FROM pack_history ORDER BY 1")],
        [tuple(r) for r in conn.execute(
            "SELECT uuid, doc_version, anchor_state, selectors FROM annotations ORDER BY 1")],
    )


def the_offer(conn: sqlite3.Connection) -> UpdateOffer:
    result = check_updates(conn)
    assert result.problems == [], result.problems
    [offer] = result.offers
    return offer


def offered_update(store: sqlite3.Connection, packs: PackFactory, site: Site
                   ) -> tuple[Path, UpdateOffer]:
    """1.0.0 installed, 1.1.0 published in the catalogue: that pack and its offer."""
    install_pack(store, versioned(packs, site, "1.0.0"))
    newer = versioned(packs, site, "1.1.0")
    site.catalogue([site.publish(newer)])
    return newer, the_offer(store)


# --- manifest: the catalogue field ---------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://packs.example.org/catalogue.json",
    "https://packs.example.org:8443/a/b/catalogue.json?x=1",
    "http://127.0.0.1:8000/catalogue.json",
    "http://localhost/catalogue.json",
])
def test_the_manifest_accepts_an_https_catalogue_and_local_http(
    packs: PackFactory, url: str
) -> None:
    spec = packs.spec()
    spec.fields["catalogue"] = url
    assert parse_manifest(manifest_bytes(spec.manifest())).catalogue == url


@pytest.mark.parametrize(("url", "words"), [
    ("http://packs.example.org/catalogue.json", "must be an https address"),
    ("ftp://packs.example.org/catalogue.json", "is not an https address"),
    ("file:///etc/passwd", "is not an https address"),
    ("catalogue.json", "is not an https address"),
    ("https://user:secret@packs.example.org/c.json", "user name or password"),
    ("https://packs.example.org/c.json#top", "fragment"),
    ("https://packs.example.org/a b.json", "is not a web address"),
    ("https://packs.example.org:99999/c.json", "is not a web address"),
])
def test_the_manifest_refuses_a_catalogue_that_is_not_https(
    packs: PackFactory, url: str, words: str
) -> None:
    spec = packs.spec()
    spec.fields["catalogue"] = url
    with pytest.raises(PackError, match=rf"'catalogue' .*{re.escape(words)}"):
        parse_manifest(manifest_bytes(spec.manifest()))


def test_a_manifest_without_a_catalogue_still_reads(packs: PackFactory) -> None:
    assert parse_manifest(manifest_bytes(packs.spec().manifest())).catalogue is None


# --- the sample pack, updated from its catalogue --------------------------------------------

@pytest.fixture(scope="module")
def sample_editions(server: tuple[Served, str], tmp_path_factory: pytest.TempPathFactory
                    ) -> dict[str, Path]:
    """The sample's 1.0.0 and 1.1.0, built by the pack builder from a copy of its sources
    whose pack.toml names the test server's catalogue, signed with the sample key."""
    source = tmp_path_factory.mktemp("sample-source") / "local-by-social"
    shutil.copytree(SAMPLE_SOURCE, source, ignore=shutil.ignore_patterns("tools"))
    toml = source / "pack.toml"
    # Top-level keys come before the first [table].
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace(
        "\n[site]", f'\ncatalogue = "{server[1]}/sample/catalogue.json"\n\n[site]', 1),
        encoding="utf-8")
    out = tmp_path_factory.mktemp("sample-built")
    key = load_secret_key(SAMPLE_KEY)
    return {"1.0.0": build_pack(source, out, key=key),
            "1.1.0": build_pack(source, out, edition="1.1.0", key=key)}


def test_the_builder_passes_the_catalogue_through(
    server: tuple[Served, str], sample_editions: dict[str, Path]
) -> None:
    for pack in sample_editions.values():
        manifest = parse_manifest(_manifest_of(pack))
        assert manifest.catalogue == f"{server[1]}/sample/catalogue.json"


def test_an_update_is_offered_downloaded_installed_and_the_notes_follow(
    server: tuple[Served, str], sample_editions: dict[str, Path], tmp_path: Path
) -> None:
    site = Site(server[0], server[1], "sample")
    entries = [site.publish(sample_editions["1.0.0"]), site.publish(sample_editions["1.1.0"])]
    conn = open_library(tmp_path / "casebook.sqlite3", BUNDLED_KEYS)
    try:
        install_pack(conn, sample_editions["1.0.0"])
        note = annotate_quote(conn, active_document(conn, SAMPLE, "guide"), MOVED,
                              body="Two accounts, not six")
        # Signed by the sample publisher, whose key ships with Casebook.
        site.catalogue(entries, key=load_secret_key(SAMPLE_KEY))
        assert fetch_catalogue(site.catalogue_url, trusted_keys(conn)).signed_by

        result = check_updates(conn)

        assert result.problems == [] and result.warnings == []
        assert result.versions() == {SAMPLE: "1.1.0"}
        [offer] = result.offers
        size = sample_editions["1.1.0"].stat().st_size
        assert (offer.installed_version, offer.version, offer.size) == ("1.0.0", "1.1.0", size)
        assert offer.url == site.url + sample_editions["1.1.0"].name  # relative, resolved

        seen: list[tuple[str, int, int]] = []
        downloads = tmp_path / "cache" / "downloads"
        done = install_update(conn, offer, downloads,
                              progress=lambda what, n, total: seen.append((what, n, total)))

        assert (done.outcome, done.previous_version, done.version) == ("updated", "1.0.0", "1.1.0")
        moved = get_annotation(conn, note.uuid)
        assert (moved.anchor_state, moved.doc_version) == ("anchored", "1.1.0")
        assert " ".join(moved.quote.split()) == MOVED and moved.body == "Two accounts, not six"
        assert moved.start < note.start  # the section moved up the chapter
        # Progress went through the download in bytes, then through the install.
        in_bytes = [n for what, n, total in seen if what.startswith("Download") and total == size]
        assert in_bytes[-1] == size and len(in_bytes) > 2 and in_bytes == sorted(in_bytes)
        assert seen[-1][0] == "Installed"
        assert list(downloads.iterdir()) == []  # nothing left behind once installed
        # Up to date now: nothing more on offer.
        again = check_updates(conn)
        assert (again.offers, again.problems, again.catalogues_checked) == ([], [], 1)
    finally:
        conn.close()


# --- what is offered ---------------------------------------------------------------------------

def test_no_offer_when_the_installed_version_is_the_newest(
    store: sqlite3.Connection, packs: PackFactory, site: Site
) -> None:
    installed = versioned(packs, site, "1.0.0")
    install_pack(store, installed)
    site.catalogue([site.publish(installed)])

    result = check_updates(store)

    assert (result.offers, result.problems, result.catalogues_checked) == ([], [], 1)


def test_no_offer_for_packs_without_a_catalogue_and_no_request_made(
    store: sqlite3.Connection, packs: PackFactory, server: tuple[Served, str]
) -> None:
    install_pack(store, packs.build())

    result = check_updates(store)

    assert (result.offers, result.problems, result.catalogues_checked) == ([], [], 0)
    assert server[0].requests == []


def test_a_downgrade_in_the_catalogue_is_never_offered(
    store: sqlite3.Connection, packs: PackFactory, site: Site
) -> None:
    older, current = versioned(packs, site, "0.9.0"), versioned(packs, site, "1.0.0")
    install_pack(store, current)
    site.catalogue([site.publish(older), site.publish(current)])
    assert check_updates(store).offers == []

    # Installed 1.2.0, then rolled back to 1.0.0: a 1.1.0 is newer than what is active
    # but older than what this library has seen, so it is not an update.
    install_pack(store, versioned(packs, site, "1.2.0"))
    rollback_pack(store, PACK)
    site.catalogue([site.publish(older), site.publish(versioned(packs, site, "1.1.0"))])

    result = check_updates(store)

    assert (result.offers, result.problems) == ([], [])


def test_the_newest_of_several_newer_versions_is_offered(
    store: sqlite3.Connection, packs: PackFactory, site: Site
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    site.catalogue([site.publish(versioned(packs, site, v)) for v in ("1.1.0", "1.3.0-rc.1",
                                                                     "1.2.0")])

    assert the_offer(store).version == "1.3.0-rc.1"


def test_a_version_needing_a_newer_casebook_is_held_back_with_a_word(
    store: sqlite3.Connection, packs: PackFactory, site: Site
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    site.catalogue([site.publish(versioned(packs, site, "1.1.0")),
                    site.publish(versioned(packs, site, "2.0.0"), min_casebook="99.0.0")])

    result = check_updates(store)

    assert [offer.version for offer in result.offers] == ["1.1.0"]
    [warning] = result.warnings
    assert "2.0.0 needs Casebook 99.0.0 or later" in warning


def test_an_old_catalogue_only_warns(
    store: sqlite3.Connection, packs: PackFactory, site: Site
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    site.catalogue([site.publish(versioned(packs, site, "1.1.0"))], generated="2020-01-01")

    result = check_updates(store)

    assert [offer.version for offer in result.offers] == ["1.1.0"]
    assert result.problems == []
    [warning] = result.warnings
    assert "made on 2020-01-01" in warning and "may be out of date" in warning


def test_the_check_runs_on_its_own_read_only_connection(
    store: sqlite3.Connection, packs: PackFactory, site: Site, data_dir: Path
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    site.catalogue([site.publish(versioned(packs, site, "1.1.0"))])

    result = check_updates_in(data_dir / "casebook.sqlite3")

    assert result.versions() == {PACK: "1.1.0"}
    assert check_updates_in(data_dir / "missing.sqlite3").offers == []


# --- downloading ----------------------------------------------------------------------------

def test_a_download_cut_half_way_resumes_with_a_range_and_completes(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path
) -> None:
    newer, offer = offered_update(store, packs, site)
    half = offer.size // 2
    site.served.cut_after[site.path(newer)] = half
    before = snapshot(store)
    downloads = tmp_path / "downloads"

    with pytest.raises(NetworkError, match=rf"{half:,} of {offer.size:,} bytes arrived and "
                                           "are kept"):
        install_update(store, offer, downloads)

    assert snapshot(store) == before
    assert part_path(offer, downloads).stat().st_size == half

    result = install_update(store, offer, downloads)

    assert (result.outcome, result.version) == ("updated", "1.1.0")
    asked = [rng for path, rng in site.served.requests if path == site.path(newer)]
    assert asked == [None, f"bytes={half}-"]
    assert list(downloads.iterdir()) == []


def test_a_server_that_ignores_the_range_sends_it_all_and_that_is_fine(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path
) -> None:
    newer, offer = offered_update(store, packs, site)
    site.served.cut_after[site.path(newer)] = 1000
    with pytest.raises(NetworkError):
        download(offer, tmp_path)
    site.served.ignore_range = True

    path = download(offer, tmp_path)

    assert path.read_bytes() == newer.read_bytes()
    assert not part_path(offer, tmp_path).exists()


def test_a_server_that_sends_the_rest_in_pieces_is_asked_until_it_is_all_there(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path
) -> None:
    newer, offer = offered_update(store, packs, site)
    site.served.cut_after[site.path(newer)] = 100_000
    with pytest.raises(NetworkError):
        download(offer, tmp_path)
    site.served.range_piece = 90_000

    assert download(offer, tmp_path).read_bytes() == newer.read_bytes()

    asked = [rng for path, rng in site.served.requests if path == site.path(newer)]
    assert asked == [None, "bytes=100000-", "bytes=190000-", "bytes=280000-"]


def test_a_body_that_ends_early_without_an_error_is_resumed_at_once(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path
) -> None:
    newer, offer = offered_update(store, packs, site)
    # No length given, so a closed connection looks like the end of the file.
    site.served.no_length = True
    site.served.cut_after[site.path(newer)] = 50_000

    assert install_update(store, offer, tmp_path / "downloads").version == "1.1.0"

    asked = [rng for path, rng in site.served.requests if path == site.path(newer)]
    assert asked == [None, "bytes=50000-"]


def test_a_range_answer_for_other_bytes_restarts_from_zero(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path
) -> None:
    newer, offer = offered_update(store, packs, site)
    site.served.cut_after[site.path(newer)] = 100_000
    with pytest.raises(NetworkError):
        download(offer, tmp_path)
    site.served.range_from_zero = True

    assert download(offer, tmp_path).read_bytes() == newer.read_bytes()

    asked = [rng for path, rng in site.served.requests if path == site.path(newer)]
    assert asked == [None, "bytes=100000-", None]


def test_a_cancelled_download_keeps_what_arrived_and_resumes(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path
) -> None:
    newer, offer = offered_update(store, packs, site)
    stop = threading.Event()
    before = snapshot(store)

    def cancel_once_started(_what: str, done: int, _total: int) -> None:
        if done > 0:
            stop.set()

    with pytest.raises(DownloadCancelled, match="kept to resume"):
        install_update(store, offer, tmp_path, progress=cancel_once_started, stop=stop)

    kept = part_path(offer, tmp_path).stat().st_size
    assert 0 < kept < offer.size and snapshot(store) == before

    assert install_update(store, offer, tmp_path).version == "1.1.0"
    asked = [rng for path, rng in site.served.requests if path == site.path(newer)]
    assert asked[-1] == f"bytes={kept}-"


def test_a_wrong_sha256_is_refused_and_the_store_is_unchanged(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    site.catalogue([site.publish(versioned(packs, site, "1.1.0"), sha256="0" * 64)])
    offer = the_offer(store)
    before = snapshot(store)

    with pytest.raises(DownloadError, match="does not match the sha256"):
        install_update(store, offer, tmp_path)

    assert snapshot(store) == before
    assert list(tmp_path.glob("*.cbpack*")) == []  # the bad bytes are not kept to resume


@pytest.mark.parametrize("with_length", [True, False], ids=["length-given", "no-length"])
def test_a_file_bigger_than_declared_is_refused_and_the_store_is_unchanged(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path,
    with_length: bool
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    newer = versioned(packs, site, "1.1.0")
    real = newer.stat().st_size
    site.catalogue([site.publish(newer, size=real - 100)])
    site.served.no_length = not with_length
    offer = the_offer(store)
    before = snapshot(store)

    with pytest.raises(DownloadError, match=rf"bigger than the {real - 100:,} bytes"):
        install_update(store, offer, tmp_path)

    assert snapshot(store) == before
    assert list(tmp_path.glob("*.cbpack*")) == []


def test_a_file_the_server_says_is_another_size_is_refused_on_resume(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    newer = versioned(packs, site, "1.1.0")
    real = newer.stat().st_size
    site.catalogue([site.publish(newer, size=real + 10)])
    offer = the_offer(store)
    site.served.cut_after[site.path(newer)] = 500
    with pytest.raises(NetworkError):
        download(offer, tmp_path)

    with pytest.raises(DownloadError, match=rf"{real:,} bytes on the site; its catalogue "
                                            rf"says {real + 10:,}"):
        download(offer, tmp_path)


def test_an_unsigned_update_of_a_signed_pack_is_refused_by_install(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    # The catalogue's size and hash are right: only the pack's missing signature is wrong.
    site.catalogue([site.publish(versioned(packs, site, "1.1.0", sign=False))])
    offer = the_offer(store)
    before = snapshot(store)

    downloads = tmp_path / "downloads"

    for allow_unsigned in (False, True):
        with pytest.raises(SignatureError, match="installed signed by a trusted publisher "
                                                 "before; this copy is unsigned"):
            install_update(store, offer, downloads, allow_unsigned=allow_unsigned)

    assert snapshot(store) == before
    assert list(downloads.iterdir()) == []  # refused: not kept


def test_a_file_that_is_another_pack_is_refused(
    store: sqlite3.Connection, packs: PackFactory, site: Site, tmp_path: Path
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    other = versioned(packs, site, "1.1.0", pack_id="org.example.other")
    site.catalogue([site.publish(other, id=PACK)])  # signed, right hash, wrong pack
    before = snapshot(store)

    with pytest.raises(PackError, match="offered as org.example.sample 1.1.0 holds "
                                        "org.example.other 1.1.0"):
        install_update(store, the_offer(store), tmp_path)

    assert snapshot(store) == before


# --- catalogues that cannot be used ----------------------------------------------------------

GOOD_ENTRY = {"id": PACK, "version": "1.1.0", "title": "T", "url": "x.cbpack", "size": 10,
              "sha256": "a" * 64}


@pytest.mark.parametrize(("body", "words"), [
    (b"<html><body>Sign in to the hotel wifi</body></html>", "is not JSON"),
    (b"\xff\xfe not text", "is not JSON"),
    (b"[]", "must hold a JSON object"),
    (json.dumps({"format": 2, "publisher": "P", "generated": "2026-01-01",
                 "packs": []}).encode(), "declares format 2; this Casebook reads catalogue "
                                         "format 1 only"),
    (json.dumps({"format": 1, "publisher": "P", "generated": "yesterday",
                 "packs": []}).encode(), "'generated' 'yesterday' is not a date"),
    (json.dumps({"format": 1, "publisher": "P", "generated": "2026-01-01"}).encode(),
     "'packs' must be a list"),
    (json.dumps({"format": 1, "publisher": "P", "generated": "2026-01-01",
                 "packs": [{**GOOD_ENTRY, "sha256": "ABC"}]}).encode(),
     r"packs\[0\]: 'sha256' must be 64 lowercase hex digits"),
    (json.dumps({"format": 1, "publisher": "P", "generated": "2026-01-01",
                 "packs": [{**GOOD_ENTRY, "size": -1}]}).encode(),
     r"packs\[0\]: 'size' must be a whole number"),
    (json.dumps({"format": 1, "publisher": "P", "generated": "2026-01-01",
                 "packs": [{**GOOD_ENTRY, "url": "http://elsewhere.example/x.cbpack"}]}
                ).encode(), r"packs\[0\]: 'url' .* must be an https address"),
    (json.dumps({"format": 1, "publisher": "P", "generated": "2026-01-01",
                 "packs": [GOOD_ENTRY, GOOD_ENTRY]}).encode(),
     "lists org.example.sample 1.1.0 twice"),
    (b" " * (MAX_CATALOGUE_BYTES + 1), "is 1,048,577 bytes; the limit is 1,048,576"),
], ids=["html", "not-utf8", "list", "format-2", "bad-date", "no-packs", "bad-sha", "bad-size",
        "http-url", "twice", "too-big"])
def test_a_catalogue_that_cannot_be_used_is_a_clear_message(
    store: sqlite3.Connection, packs: PackFactory, site: Site, body: bytes, words: str
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    site.write("catalogue.json", body)
    before = snapshot(store)

    result = check_updates(store)

    assert result.offers == []
    [problem] = result.problems
    assert problem.startswith("Updates for Sample guidance could not be checked. "
                              f"The catalogue {site.catalogue_url}")
    assert re.search(words, problem), problem
    assert snapshot(store) == before


def test_a_too_big_catalogue_sent_without_a_length_is_cut_off_at_the_limit(
    store: sqlite3.Connection, packs: PackFactory, site: Site
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    site.write("catalogue.json", b"{" + b" " * (50 * MAX_CATALOGUE_BYTES))
    site.served.no_length = True

    [problem] = check_updates(store).problems

    assert "is over 1,048,576 bytes; it is ignored" in problem
    with pytest.raises(CatalogueError, match="over 1,048,576 bytes"):
        parse_catalogue(b"{}" + b" " * MAX_CATALOGUE_BYTES, "https://x.example/c.json")


def test_a_missing_catalogue_is_a_clear_message(
    store: sqlite3.Connection, packs: PackFactory, site: Site
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))  # no catalogue.json written

    [problem] = check_updates(store).problems

    assert "could not be read: the site answered 404 Not Found (there is no such file)" in problem


def test_a_catalogue_altered_after_signing_is_ignored(
    store: sqlite3.Connection, packs: PackFactory, site: Site, publisher_key: SecretKey
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    signed = site.catalogue([site.publish(versioned(packs, site, "1.1.0"))], key=publisher_key)
    assert the_offer(store).version == "1.1.0"  # a good signature: used
    site.write("catalogue.json", signed.replace(b'"1.1.0"', b'"1.2.0"'))

    result = check_updates(store)

    assert result.offers == []
    [problem] = result.problems
    assert "does not match its signature by 'Test Publisher'" in problem


def test_a_catalogue_signed_by_an_unknown_key_is_used_as_unsigned(
    store: sqlite3.Connection, packs: PackFactory, site: Site
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    site.catalogue([site.publish(versioned(packs, site, "1.1.0"))],
                   key=generate_key("Someone else"))

    assert the_offer(store).version == "1.1.0"
    assert fetch_catalogue(site.catalogue_url, trusted_keys(store)).signed_by is None


def test_the_site_down_is_a_clear_message_and_nothing_changes(
    store: sqlite3.Connection, packs: PackFactory, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    pack = packs.spec(version="1.0.0")
    pack.fields["catalogue"] = f"{closed}/catalogue.json"
    install_pack(store, packs.write(pack))
    before = snapshot(store)

    result = check_updates(store)

    assert result.offers == []
    [problem] = result.problems
    assert f"Cannot reach {closed} (offline, or the site is down)" in problem
    offer = UpdateOffer(PACK, "Sample guidance", "1.0.0", "1.1.0", 1000, "a" * 64,
                        f"{closed}/p.cbpack", f"{closed}/catalogue.json")
    downloads = tmp_path / "downloads"
    with pytest.raises(NetworkError, match="Cannot reach"):
        install_update(store, offer, downloads)
    assert snapshot(store) == before
    assert list(downloads.iterdir()) == []


def test_one_unreachable_catalogue_does_not_stop_the_others(
    store: sqlite3.Connection, packs: PackFactory, site: Site
) -> None:
    install_pack(store, versioned(packs, site, "1.0.0"))
    site.catalogue([site.publish(versioned(packs, site, "1.1.0"))])
    install_pack(store, versioned(packs, site, "1.0.0", pack_id="org.example.other",
                                  catalogue=site.url + "gone.json"))

    result = check_updates(store)

    assert result.versions() == {PACK: "1.1.0"}
    [problem] = result.problems
    assert "gone.json" in problem and result.catalogues_checked == 1


# --- the command line ------------------------------------------------------------------------

def test_the_cli_checks_and_installs_updates_from_a_catalogue_it_wrote(
    packs: PackFactory, site: Site, tmp_path: Path, publisher_key: SecretKey,
    capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "library")
    key_file = tmp_path / "publisher.pub"
    key_file.write_text(json.dumps(public_key_json(publisher_key.public)))
    assert cli.main(["--data-dir", data, "keys", "add", str(key_file)]) == 0
    assert cli.main(["--data-dir", data, "pack", "install",
                     str(versioned(packs, site, "1.0.0"))]) == 0
    site.publish(versioned(packs, site, "1.1.0"))
    secret, _public = write_key_pair(publisher_key, tmp_path / "publisher")
    assert cli.main(["--data-dir", data, "updates", "catalogue", str(site.folder),
                     "--publisher", "Test Publisher", "--key", str(secret)]) == 0
    assert (site.folder / "catalogue.json.sig").is_file()
    capsys.readouterr()

    assert cli.main(["--data-dir", data, "updates", "check", "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert [(o["pack"], o["installed_version"], o["version"]) for o in checked["offers"]] == [
        (PACK, "1.0.0", "1.1.0")]

    assert cli.main(["--data-dir", data, "updates", "install", PACK, "--progress", "json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(e["event"] == "progress" and e["what"].startswith("Downloading")
               for e in events)
    assert events[-1]["event"] == "done" and events[-1]["version"] == "1.1.0"
    assert events[-1]["outcome"] == "updated"
    assert list((tmp_path / "library" / "cache" / "downloads").iterdir()) == []

    assert cli.main(["--data-dir", data, "updates", "check"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert cli.main(["--data-dir", data, "updates", "install", PACK]) == 1
    assert "No update is offered for org.example.sample" in capsys.readouterr().err


def test_the_cli_reports_a_site_that_is_down(
    packs: PackFactory, tmp_path: Path, publisher_key: SecretKey,
    capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "library")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    spec = packs.spec()
    spec.fields["catalogue"] = f"{closed}/catalogue.json"
    assert cli.main(["--data-dir", data, "pack", "install", str(packs.write(spec, sign=False)),
                     "--allow-unsigned"]) == 0
    capsys.readouterr()

    assert cli.main(["--data-dir", data, "updates", "check"]) == 1
    err = capsys.readouterr().err
    assert "Updates for Sample guidance could not be checked. Cannot reach" in err
