"""Downloading an offered update, resumably, and installing it as a file import is.

The bytes go to ``<pack>-<version>-<sha256 prefix>.cbpack.part`` in the downloads
folder. A broken connection or a cancel keeps that file, and the next attempt asks
only for the rest (``Range: bytes=N-``): a ``206`` whose ``Content-Range`` starts
at N and totals the catalogue's size is appended; a ``200`` (the server ignored the
range) starts again from zero. The server may never send more than the catalogue's
size; at the end the sha256 must be the catalogue's. Only then is the file renamed
to ``.cbpack`` and installed through :func:`install.install_pack` — the same path as
a file import: full pack checks, the pack's signature against the store's keys, the
version policy (no downgrade, no unsigned copy of a signed pack), annotations
re-anchored, all in one transaction. Until that transaction the store is untouched.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
from pathlib import Path

import httpx

from desktop_app.core.errors import CasebookError, PackError
from desktop_app.core.net import NetworkError, explain, make_client
from desktop_app.core.packs.archive import open_archive
from desktop_app.core.packs.catalogue import ClientFactory, UpdateOffer, origin
from desktop_app.core.packs.install import InstallResult, install_pack
from desktop_app.core.packs.manifest import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    catalogue_url_problem,
    parse_manifest,
)
from desktop_app.core.packs.reader import Progress

DOWNLOADS_FOLDER = "downloads"
_CHUNK = 64 * 1024
# Requests for one download, however the server splits it up.
_MAX_REQUESTS = 100
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DownloadError(CasebookError):
    """A download failed or its file was refused; the library was not changed."""


class DownloadCancelled(DownloadError):
    """The reader stopped the download; what arrived is kept to resume."""


def downloads_dir(cache_dir: Path) -> Path:
    """Where updates are downloaded: ``AppPaths.cache_dir / "downloads"``."""
    return cache_dir / DOWNLOADS_FOLDER


def part_path(offer: UpdateOffer, dest_dir: Path) -> Path:
    # The hash in the name: if the publisher replaces the file, old bytes never mix in.
    return dest_dir / f"{offer.pack_id}-{offer.version}-{offer.sha256[:16]}.cbpack.part"


def download(offer: UpdateOffer, dest_dir: Path, progress: Progress | None = None,
             stop: threading.Event | None = None, *,
             client_factory: ClientFactory = make_client) -> Path:
    """Download the offered pack into ``dest_dir``; return the checked ``.cbpack``.

    Raises :class:`NetworkError` (the ``.part`` is kept to resume),
    :class:`DownloadCancelled` (kept too) or :class:`DownloadError` (the file is not
    the one the catalogue describes; the ``.part`` is deleted).
    """
    problem = catalogue_url_problem(offer.url)
    if problem:
        raise DownloadError(f"The address of {offer.pack_id} {offer.version}, {offer.url!r}, "
                            f"{problem}.")
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / f"{offer.pack_id}-{offer.version}.cbpack"
    if final.exists():
        if _size(final) == offer.size and _sha256(final) == offer.sha256:
            return final  # downloaded before, not installed (the store was busy, say)
        final.unlink()
    part = part_path(offer, dest_dir)
    have = _size(part)
    if have > offer.size:
        part.unlink()
        have = 0
    if have < offer.size:
        site = origin(offer.url)
        try:
            with client_factory(site) as client:
                have = _fetch(client, offer, part, have, progress, stop)
        except httpx.HTTPError as exc:
            have = _size(part)
            kept = (f" {have:,} of {offer.size:,} bytes arrived and are kept: the download "
                    "resumes from there next time." if have else "")
            raise NetworkError(f"{explain(exc, site)}{kept}") from exc
    if have < offer.size:  # the site ended the answer early without an error
        raise NetworkError(
            f"{origin(offer.url)} stopped sending {offer.url} after {have:,} of "
            f"{offer.size:,} bytes; they are kept, and the download resumes from there next "
            "time.")
    if _sha256(part) != offer.sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"The file downloaded for {offer.pack_id} {offer.version} does not match the "
            "sha256 its catalogue gives: it was damaged on the way or replaced. It was "
            "deleted; the library was not changed.")
    os.replace(part, final)
    if progress:
        progress(f"Downloaded {offer.title} {offer.version}", offer.size, offer.size)
    return final


def install_update(conn: sqlite3.Connection, offer: UpdateOffer, dest_dir: Path, *,
                   progress: Progress | None = None, stop: threading.Event | None = None,
                   allow_unsigned: bool = False,
                   client_factory: ClientFactory = make_client) -> InstallResult:
    """Download the offer and install it exactly as a file import is installed."""
    path = download(offer, dest_dir, progress, stop, client_factory=client_factory)
    if stop is not None and stop.is_set():
        raise DownloadCancelled("Cancelled before installing; the library was not changed.")
    try:
        _check_is_offer(path, offer)
        result = install_pack(conn, path, allow_unsigned=allow_unsigned, progress=progress)
    except PackError:
        path.unlink(missing_ok=True)  # refused: downloading it again would not change that
        raise
    path.unlink(missing_ok=True)
    return result


def _fetch(client: httpx.Client, offer: UpdateOffer, part: Path, have: int,
           progress: Progress | None, stop: threading.Event | None) -> int:
    """Fetch the rest of the file into ``part``; returns how many bytes it holds.

    Asks again for what is still missing as long as each answer brings something
    (a server may send a range in pieces); starts from zero at most once, when the
    server cannot continue from the ``.part``.
    """
    what = f"Downloading {offer.title} {offer.version}"
    restarted = False
    for _request in range(_MAX_REQUESTS):
        if have >= offer.size:
            break
        _check_stop(stop, have, offer)
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        with client.stream("GET", offer.url, headers=headers, follow_redirects=True) as response:
            problem = catalogue_url_problem(str(response.url))
            if problem:
                raise DownloadError(f"{offer.url} sent Casebook on to {response.url}, which "
                                    f"{problem}.")
            status = response.status_code
            continues = status == 206 and have and _range_fits(
                response.headers.get("content-range", ""), have, offer)
            if have and (status == 416 or (status == 206 and not continues)):
                # The server cannot go on from byte N: the .part is no use.
                if restarted:
                    break
                part.unlink(missing_ok=True)
                have, restarted = 0, True
                continue
            if continues:
                mode = "ab"
            elif status == 200:
                have, mode = 0, "wb"  # the whole file, whatever was asked
            else:
                missing = " (there is no such file)" if status in (404, 410) else ""
                raise DownloadError(f"{offer.url} could not be downloaded: the site answered "
                                    f"{status} {response.reason_phrase}{missing}.")
            encoding = response.headers.get("content-encoding", "identity").lower()
            if encoding not in ("", "identity"):
                raise DownloadError(f"{offer.url} was sent compressed ({encoding}) although "
                                    "Casebook asked for the file as it is; not downloaded.")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and have + int(declared) > offer.size:
                _too_big(part, offer)
            before = have
            have = _write(response, part, mode, have, what, offer, progress, stop)
            if have <= before:
                break  # an answer with nothing in it: the caller reports the shortfall
    return have


def _write(response: httpx.Response, part: Path, mode: str, have: int, what: str,
           offer: UpdateOffer, progress: Progress | None, stop: threading.Event | None) -> int:
    step = max(offer.size // 200, _CHUNK)
    reported = have
    if progress:
        progress(what, have, offer.size)
    with part.open(mode) as out:
        # No chunk size: httpx would hold back a short read until the size is reached,
        # and lose it when the connection breaks.
        for chunk in response.iter_raw():
            if have + len(chunk) > offer.size:
                out.close()
                _too_big(part, offer)
            out.write(chunk)
            have += len(chunk)
            if progress and (have - reported >= step or have == offer.size):
                progress(what, have, offer.size)
                reported = have
            if have < offer.size:
                _check_stop(stop, have, offer)
        out.flush()
        os.fsync(out.fileno())
    return have


def _range_fits(header: str, have: int, offer: UpdateOffer) -> bool:
    """Whether ``Content-Range`` is the rest of the catalogue's file from byte ``have``.
    A total other than the catalogue's size is not the file it describes: refused."""
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if not match:
        return False
    start, end, total = int(match[1]), int(match[2]), match[3]
    if total != "*" and int(total) != offer.size:
        raise DownloadError(
            f"{offer.url} is {int(total):,} bytes on the site; its catalogue says "
            f"{offer.size:,}. It is not the file the catalogue describes; not downloaded.")
    # A server may send less than the rest (end < size - 1): what comes is appended.
    return start == have and have <= end < offer.size


def _too_big(part: Path, offer: UpdateOffer) -> None:
    part.unlink(missing_ok=True)
    raise DownloadError(
        f"{offer.url} is bigger than the {offer.size:,} bytes its catalogue gives: it is not "
        "the file the catalogue describes. The download was stopped and deleted; the "
        "library was not changed.")


def _check_stop(stop: threading.Event | None, have: int, offer: UpdateOffer) -> None:
    if stop is not None and stop.is_set():
        raise DownloadCancelled(
            f"Download of {offer.title} {offer.version} cancelled; {have:,} of "
            f"{offer.size:,} bytes are kept to resume. The library was not changed.")


def _check_is_offer(path: Path, offer: UpdateOffer) -> None:
    """The file must be the pack and version offered, not another the catalogue slipped in."""
    with open_archive(path) as archive:
        if not archive.has(MANIFEST_NAME):
            raise PackError(f"{path.name} has no manifest.json: it is not a Casebook pack.")
        manifest = parse_manifest(archive.read(MANIFEST_NAME, MAX_MANIFEST_BYTES))
    if manifest.id != offer.pack_id or str(manifest.version) != offer.version:
        raise PackError(
            f"The file offered as {offer.pack_id} {offer.version} holds {manifest.id} "
            f"{manifest.version}; it was not installed.")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
