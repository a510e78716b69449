"""Hostile packs, second pass (issue 13): manifests that read two ways, versions at the
edges of SemVer 2.0.0, entry names that mean something else on Windows and macOS,
and files that are not what their name says.

Each pack is a real zip made by :class:`PackFactory` and installed into a real store;
"refused" means the error names the problem and no content table changed, the pack
history included (an update that should work afterwards still does).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from desktop_app.core.errors import SignatureError
from desktop_app.core.packs.catalogue import (
    CatalogueError,
    check_catalogue_signature,
    parse_catalogue,
    sign_catalogue,
)
from desktop_app.core.packs.install import install_pack, remove_pack, rollback_pack
from desktop_app.core.packs.manifest import manifest_bytes
from desktop_app.core.packs.signing import SecretKey, sign_manifest
from desktop_app.core.packs.version import PackVersion
from tests.core import test_pack_refusals
from tests.core.test_pack_refusals import assert_refused, update_spec, with_manifest
from tests.packfactory import PackFactory

# The store with the good 1.0.0 installed, so that "unchanged" means something.
library = test_pack_refusals.library

CATALOGUE_URL = "https://packs.example.org/catalogue.json"


def history(store: sqlite3.Connection) -> tuple[str, str]:
    row = store.execute("SELECT highest_version, highest_manifest_sha256 FROM pack_history "
                        "WHERE pack_id = 'org.example.sample'").fetchone()
    return tuple(row)


def active(store: sqlite3.Connection) -> str:
    return store.execute("SELECT version FROM packs WHERE pack_id = 'org.example.sample' "
                         "AND active = 1").fetchone()[0]


def twice(text: bytes, key_and_value: bytes, second: bytes) -> bytes:
    """``text`` with the key ``second`` written again just after ``key_and_value``."""
    assert key_and_value in text
    return text.replace(key_and_value, key_and_value + b", " + second, 1)


# --- duplicate keys -----------------------------------------------------------------------


def test_a_manifest_naming_its_version_twice_is_refused_and_history_is_untouched(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    # Python's json keeps the last key: without the check this installs as 99.0.0, and
    # every real later update would then be "older than 99.0.0".
    forked = twice(manifest_bytes(spec.manifest()), b'"version": "1.1.0"',
                   b'"version": "99.0.0"')
    before = history(library)
    assert_refused(library, packs.write(spec, manifest=forked),
                   r"manifest\.json names 'version' twice")
    assert history(library) == before
    install_pack(library, packs.write(update_spec(packs)))
    assert active(library) == "1.1.0"


def test_a_duplicate_key_deep_inside_the_manifest_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    text = manifest_bytes(spec.manifest())
    forked = twice(text, b'"path": "documents/case-one.md"', b'"path": "documents/guide.pdf"')
    assert_refused(library, packs.write(spec, manifest=forked), r"names 'path' twice")


def test_a_signature_naming_its_key_twice_is_refused(
    library: sqlite3.Connection, packs: PackFactory, publisher_key: SecretKey
) -> None:
    spec = update_spec(packs)
    signature = sign_manifest(manifest_bytes(spec.manifest()), publisher_key)
    forked = twice(signature, b'"algorithm": "ed25519"', b'"key_id": "someone-else"')
    assert_refused(library, packs.write(spec, signature=forked),
                   r"manifest\.sig names 'key_id' twice", SignatureError, allow_unsigned=True)


def catalogue_bytes(**changes: Any) -> bytes:
    entry = {"id": "org.example.sample", "version": "1.1.0", "title": "Sample guidance",
             "url": "sample-1.1.0.cbpack", "size": 1000, "sha256": "a" * 64}
    raw = {"format": 1, "publisher": "Test Publisher", "generated": "2026-11-01",
           "packs": [entry], **changes}
    return manifest_bytes(raw)


def test_a_catalogue_naming_a_key_twice_is_ignored_with_the_reason() -> None:
    forked = twice(catalogue_bytes(), b'"version": "1.1.0"', b'"version": "99.0.0"')
    with pytest.raises(CatalogueError, match=r"names 'version' twice"):
        parse_catalogue(forked, CATALOGUE_URL)


def test_a_catalogue_signature_naming_a_key_twice_is_ignored(publisher_key: SecretKey) -> None:
    data = catalogue_bytes()
    signature = twice(sign_catalogue(data, publisher_key), b'"algorithm": "ed25519"',
                      b'"signature": "AAAA"')
    with pytest.raises(CatalogueError, match=r"signature file that names 'signature' twice"):
        check_catalogue_signature(data, signature, CATALOGUE_URL,
                                  {publisher_key.public.key_id: publisher_key.public})


# --- the format number ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [1.0, True, "1"], ids=["float", "bool", "string"])
def test_a_format_that_only_equals_one_is_refused(
    library: sqlite3.Connection, packs: PackFactory, fmt: object
) -> None:
    assert_refused(library, with_manifest(packs, lambda raw: raw.update(format=fmt)),
                   rf"declares format {fmt!r}; this Casebook reads format 1 only")


def test_a_catalogue_of_format_one_point_oh_is_ignored() -> None:
    with pytest.raises(CatalogueError, match=r"declares format 1\.0"):
        parse_catalogue(catalogue_bytes(format=1.0), CATALOGUE_URL)


# --- versions: SemVer 2.0.0 ----------------------------------------------------------------


def test_a_version_with_huge_numbers_installs_and_orders_as_a_number(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    big = "99999999999999999999.0.0"
    install_pack(library, packs.write(packs.spec(version=big)))
    assert active(library) == big
    assert history(library)[0] == big
    # Compared as numbers, not as text: "100000000000000000000" < "99999..." as text.
    bigger = "100000000000000000000.0.0"
    install_pack(library, packs.write(packs.spec(version=bigger)))
    assert active(library) == bigger
    assert rollback_pack(library, "org.example.sample") == (bigger, big)


def test_build_metadata_is_accepted_kept_and_ignored_in_precedence(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(library, packs.write(packs.spec(version="1.1.0+build.7")))
    assert active(library) == "1.1.0+build.7"
    # Same precedence as 1.1.0+build.7 (SemVer rule 10): not an update, and refused
    # rather than stored as a second "1.1.0" beside the first.
    rebuilt = packs.write(packs.spec(version="1.1.0+build.8", guide_pages=["Rebuilt."]))
    assert_refused(library, rebuilt, r"1\.1\.0\+build\.8 is the same version as "
                                     r"1\.1\.0\+build\.7.*build metadata")
    assert_refused(library, packs.write(packs.spec(version="1.1.0")),
                   r"same version as 1\.1\.0\+build\.7")
    install_pack(library, packs.write(packs.spec(version="1.2.0-rc.1+exp.sha.5114f85")))
    assert active(library) == "1.2.0-rc.1+exp.sha.5114f85"


def test_a_version_removed_and_rebuilt_with_other_build_metadata_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(library, packs.write(packs.spec(version="1.1.0+build.7")))
    remove_pack(library, "org.example.sample")  # what was seen stays in pack_history
    assert_refused(library, packs.write(packs.spec(version="1.1.0+build.9")),
                   r"same version as 1\.1\.0\+build\.7")


@pytest.mark.parametrize(("version", "words"), [
    ("\u0661.\u0660.\u0660", r"is not a version like 1\.2\.0 \(SemVer 2\.0\.0"),
    ("1.0.0-01", r"is not a version like 1\.2\.0"),
    ("1.0.0+", r"is not a version like 1\.2\.0"),
    ("1.0.0-a..b", r"is not a version like 1\.2\.0"),
    ("1." + "9" * 300 + ".0", r"is longer than the 256 characters Casebook accepts"),
], ids=["arabic-digits", "leading-zero-pre", "empty-build", "empty-pre-part", "too-long"])
def test_text_that_is_not_semver_is_refused_with_the_rule(
    library: sqlite3.Connection, packs: PackFactory, version: str, words: str
) -> None:
    assert_refused(library, with_manifest(packs, lambda raw: raw.update(version=version)),
                   words)


def test_semver_precedence_follows_the_specification() -> None:
    # The chain semver.org gives in rule 11, and build metadata that does not count.
    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
             "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0",
             "2.1.1", "18446744073709551616.0.0"]
    parsed = [PackVersion.parse(text) for text in chain]
    assert sorted(reversed(parsed)) == parsed
    assert [str(v) for v in parsed] == chain
    assert PackVersion.parse("1.0.0+a") == PackVersion.parse("1.0.0+b")
    assert not PackVersion.parse("1.0.0+a") < PackVersion.parse("1.0.0+b")
