"""Hostile packs, second pass (issue 13): manifests that read two ways, versions at the
edges of SemVer 2.0.0, entry names that mean something else on Windows and macOS,
and files that are not what their name says.

Each pack is a real zip made by :class:`PackFactory` and installed into a real store;
"refused" means the error names the problem and no content table changed, the pack
history included (an update that should work afterwards still does).
"""

from __future__ import annotations

import re
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.errors import SignatureError
from desktop_app.core.packs.builder import build_pack
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
from tests.core.test_pack_refusals import (
    UPDATE,
    assert_refused,
    update_spec,
    with_extra_entry,
    with_manifest,
)
from tests.packfactory import PackFactory, make_png

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


# --- entry names that mean something else on Windows or macOS --------------------------


@pytest.mark.parametrize(("name", "words"), [
    ("CON.md", r"named after the Windows device CON"),
    ("media/aux.png", r"named after the Windows device AUX"),
    ("media/COM1", r"named after the Windows device COM1"),
    ("media/lpt9.tar.gz", r"named after the Windows device LPT9"),
    ("media/diagram.png.", r"ending in a dot or a space"),
    ("media/notes /a.md", r"ending in a dot or a space"),
    ("documents/guide.pdf:Zone.Identifier", r"holds ':'.*NTFS alternate data stream"),
    ("media/what?.png", r"holds '\?', which Windows does not allow"),
    ("\uff0e\uff0e\uff0fescape.md", r"Unicode normalisation turns into path syntax \('\.\./"),
    ("media\uff0fdiagram.png", r"Unicode normalisation turns into path syntax"),
    ("media/evil\u202egnp.md", r"invisible format character U\+202E"),
    ("media/zero\u200bwidth.png", r"invisible format character U\+200B"),
    ("media/c1\u0085control.png", r"control characters"),
], ids=["con", "aux", "com1", "lpt9-two-dots", "trailing-dot", "trailing-space", "stream",
        "question-mark", "fullwidth-dots", "fullwidth-slash", "rtl-override", "zero-width",
        "c1-control"])
def test_a_name_windows_or_macos_would_read_otherwise_is_refused(
    library: sqlite3.Connection, packs: PackFactory, name: str, words: str
) -> None:
    assert_refused(library, with_extra_entry(packs, name), words)


def test_a_manifest_listing_a_device_name_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    spec.files["media/nul.png"] = make_png()
    assert_refused(library, packs.write(spec), r"'media/nul\.png' is named after the Windows "
                                               r"device NUL")


def test_ordinary_names_with_accents_and_dots_still_install(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    spec.files["media/café.v2.png"] = make_png()
    spec.files["media/CONSOLE-notes.png"] = make_png()  # a device name only when it is all
    install_pack(library, packs.write(spec))
    assert active(library) == UPDATE


# --- zip bombs and genuine repetitive files ------------------------------------------------


def repetitive_table() -> bytes:
    """Two MiB of a genuine table that deflate squeezes far past 100:1."""
    rows = b"".join(b"2026-11-01,Council,0,0,0\n" for _ in range(84_000))
    assert len(rows) > 2 * 1024 * 1024
    return rows


def test_a_repetitive_genuine_file_is_refused_with_the_limit_it_hit(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    spec.files["media/table.csv"] = repetitive_table()
    assert_refused(library, packs.write(spec),
                   r"'media/table\.csv' expands more than 100-fold past 1,048,576 bytes: it "
                   r"looks like a zip bomb \(the limit is 100:1 for entries over 1,048,576 "
                   r"bytes\)\. A genuine file this repetitive must be stored uncompressed")


def test_the_builder_stores_a_repetitive_file_so_that_readers_accept_it(
    library: sqlite3.Connection, tmp_path: Path, publisher_key: SecretKey
) -> None:
    source = tmp_path / "source"
    (source / "media").mkdir(parents=True)
    (source / "pack.toml").write_text(
        'format = 1\nid = "org.example.sample"\nversion = "1.1.0"\ntitle = "Tables"\n'
        'publisher = "Test Publisher"\ndate = "2026-11-01"\nlanguage = "en-GB"\n'
        'licence = "CC BY 4.0"\n\n[[documents]]\nid = "notes"\nkind = "case-study"\n'
        'title = "Notes"\nsource = "notes.md"\n', encoding="utf-8")
    (source / "notes.md").write_text("# Notes\n\nSee the table.\n", encoding="utf-8")
    (source / "media" / "table.csv").write_bytes(repetitive_table())
    pack = build_pack(source, tmp_path / "out", key=publisher_key)
    with zipfile.ZipFile(pack) as zf:
        assert zf.getinfo("media/table.csv").compress_type == zipfile.ZIP_STORED
        assert zf.getinfo("documents/notes.md").compress_type == zipfile.ZIP_DEFLATED
    install_pack(library, pack)
    assert active(library) == "1.1.0"


# --- images that are not what their names say ---------------------------------------------


def with_media(packs: PackFactory, path: str, data: bytes) -> Path:
    spec = update_spec(packs)
    spec.files[path] = data
    return packs.write(spec)


SVG_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'


@pytest.mark.parametrize(("path", "data", "words"), [
    ("media/diagram.png", b"<!DOCTYPE html><html><script>alert(1)</script></html>",
     r"named as image/png but its contents are not that kind of image \(it is HTML\)"),
    ("media/photo.jpg", make_png(), r"named as image/jpeg.*\(it is image/png\)"),
    ("media/anim.gif", b"GIF00a" + bytes(40), r"named as image/gif"),
    ("media/pic.webp", b"RIFF\x00\x00\x00\x00WEBX", r"named as image/webp"),
    ("media/pic.avif", b"\x00\x00\x00\x1cftypavif", r"image/avif, which Casebook does not show"),
    ("media/logo.svg", f"{SVG_HEAD}<script>alert(1)</script></svg>".encode(),
     r"SVG holding <script>"),
    ("media/logo.svg", f'{SVG_HEAD}<rect onload="alert(1)"/></svg>'.encode(),
     r"SVG with an event handler \(onload\)"),
    ("media/logo.svg", f'{SVG_HEAD}<image xlink:href="https://tracker.example/p.png"/></svg>'
     .encode(), r"SVG referring to 'https://tracker\.example/p\.png' outside itself"),
    ("media/logo.svg", f'{SVG_HEAD}<rect style="fill:url(http://x.example/a)"/></svg>'.encode(),
     r"SVG whose style loads an outside resource"),
    ("media/logo.svg", f'{SVG_HEAD}<foreignObject><p>hi</p></foreignObject></svg>'.encode(),
     r"SVG holding <foreignobject>"),
    ("media/logo.svg", f'{SVG_HEAD}<a><set attributeName="href" to="javascript:alert(1)"/>'
     '</a></svg>'.encode(), r"SVG that animates its href attribute"),
    ("media/logo.svg", b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
     + SVG_HEAD.encode() + b"&a;</svg>", r"SVG with a DTD"),
    ("media/logo.svg", b"<html><body>not a drawing</body></html>",
     r"named as an SVG image but holds <html>"),
], ids=["html-as-png", "png-as-jpeg", "bad-gif", "bad-webp", "avif", "svg-script",
        "svg-handler", "svg-external-image", "svg-external-style", "svg-foreign-object",
        "svg-animated-href", "svg-dtd", "html-as-svg"])
def test_an_image_that_is_not_what_its_name_says_is_refused(
    library: sqlite3.Connection, packs: PackFactory, path: str, data: bytes, words: str
) -> None:
    assert_refused(library, with_media(packs, path, data), words)


def test_a_plain_svg_drawing_installs(library: sqlite3.Connection, packs: PackFactory) -> None:
    drawing = (f'{SVG_HEAD}<defs><linearGradient id="g"/></defs>'
               '<rect width="10" height="10" style="fill:url(#g)"/>'
               '<use xlink:href="#g"/></svg>').encode()
    install_pack(library, with_media(packs, "media/logo.svg", drawing))
    assert active(library) == UPDATE


# --- Markdown links that are dangerous elsewhere ------------------------------------------

DANGEROUS_LINKS = {
    "tab-in-scheme": "<java\tscript:alert(1)>",
    "newline-in-scheme": "<java\nscript:alert(1)>",
    "unc-backslashes": "<\\\\host\\share\\payroll.xlsx>",
    "unc-slashes": "//host/share/payroll.xlsx",
    "backslash-climb": "<..\\..\\Windows\\win.ini>",
    "climbs-out": "../../../../Windows/win.ini",
    "climbs-out-encoded": "%2e%2e/%2e%2e/%2e%2e/Windows/win.ini",
    "drive-letter": "C:/Windows/win.ini",
    "file-scheme": "file:///etc/passwd",
}
SAFE_LINKS = {
    "https": "https://example.org/guide?x=1#part",
    "mailto": "mailto:team@example.org",
    "section": "#lessons",
    "sibling-in-pack": "../media/diagram.png",
}


def test_dangerous_markdown_links_are_neutralised_when_the_pack_is_installed(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    lines = [f"- [{name}]({target})" for name, target in {**DANGEROUS_LINKS,
                                                           **SAFE_LINKS}.items()]
    spec.files["documents/case-one.md"] = ("# Links\n\n" + "\n".join(lines) + "\n").encode()
    install_pack(library, packs.write(spec))
    html = library.execute("SELECT html FROM documents WHERE doc_id = 'case-one' AND "
                           "pack_version = ?", (UPDATE,)).fetchone()[0]
    anchors = {text: href for href, text in
               re.findall(r'<a(?: href="([^"]*)")?[^>]*>([a-z-]+)</a>', html)}
    assert set(anchors) == set(DANGEROUS_LINKS) | set(SAFE_LINKS)
    assert {name: anchors[name] for name in DANGEROUS_LINKS} == dict.fromkeys(DANGEROUS_LINKS, "")
    assert anchors["https"] == "https://example.org/guide?x=1#part"
    assert anchors["mailto"] == "mailto:team@example.org"
    assert anchors["section"] == "#lessons"
    assert anchors["sibling-in-pack"] == "../media/diagram.png"
