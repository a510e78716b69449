"""Libraries for the comments tests: a test pack whose community site is a closed
port on this computer (a real failed connection, at once) or a LocalSite."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring
from keyring.backends import fail

from desktop_app.core.library import open_library
from desktop_app.core.packs.install import install_pack
from desktop_app.core.packs.signing import SecretKey
from desktop_app.core.packs.trust import trust_key
from desktop_app.paths import AppPaths, resolve_paths
from tests.packfactory import PackFactory

PACK = "org.example.sample"
CASE = "case-one"  # Markdown, post 102
GUIDE = "guide"  # PDF, post 101
PASSWORD = "abcd efgh ijkl mnop"  # the reader's application password on the test sites


def closed_port_url() -> str:
    """An address where nothing listens: connecting is refused straight away."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def library_with_site(folder: Path, packs: PackFactory, key: SecretKey,
                      site_url: str) -> AppPaths:
    """A library holding one pack whose documents are discussed on ``site_url``."""
    paths = resolve_paths(folder / "data")
    paths.data_dir.mkdir(parents=True)
    conn = open_library(paths.store_file)
    try:
        trust_key(conn, key.public)
        spec = packs.spec()
        spec.fields["site"] = {"kind": "wordpress", "url": site_url}
        install_pack(conn, packs.write(spec))
    finally:
        conn.close()
    return paths


@contextmanager
def no_system_keyring() -> Iterator[None]:
    """Keep test passwords out of the developer's real keyring: with no keyring,
    Casebook keeps a password for the session only."""
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(before)
