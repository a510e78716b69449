"""Hostile and damaged packs: each is refused with a message naming the problem, and the
store's content is left exactly as it was.

Every pack here is a real zip built by :class:`PackFactory`; the damage is done the way an
attacker or a broken disk would do it, down to patching bytes of the finished archive.
Small :class:`Limits` keep the zip-bomb cases fast and light on memory.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from desktop_app.cli import main
from desktop_app.core.errors import DocumentError, PackError, SignatureError
from desktop_app.core.packs.archive import Limits
from desktop_app.core.packs.install import install_pack
from desktop_app.core.packs.manifest import manifest_bytes
from desktop_app.core.packs.signing import SecretKey, generate_key, sign_manifest, write_key_pair
from tests.helpers import content_fingerprint
from tests.packfactory import GUIDE_PAGES, PackFactory, PackSpec, make_pdf, make_png

# Hostile packs are offered as an update (1.1.0) to the good 1.0.0 installed first, so
# that nothing but the damage under test could make them be refused.
UPDATE = "1.1.0"
LOCAL_HEADER, CENTRAL_RECORD = b"PK\x03\x04", b"PK\x01\x02"


@pytest.fixture
def library(store: sqlite3.Connection, packs: PackFactory) -> sqlite3.Connection:
    """The test store with a good pack installed, so that "unchanged" means something."""
    install_pack(store, packs.build())
    return store


def assert_refused(
    store: sqlite3.Connection,
    pack: Path,
    match: str,
    error: type[PackError] = PackError,
    **install_args: Any,
) -> None:
    """Installing ``pack`` raises ``error`` matching ``match`` and changes no content."""
    before = content_fingerprint(store)
    with pytest.raises(error, match=match):
        install_pack(store, pack, **install_args)
    assert content_fingerprint(store) == before


def update_spec(packs: PackFactory) -> PackSpec:
    return packs.spec(version=UPDATE)


def with_manifest(packs: PackFactory, change: Callable[[dict[str, Any]], None]) -> Path:
    """An update whose manifest was changed by ``change`` (and then signed as it is)."""
    spec = update_spec(packs)
    raw = spec.manifest()
    change(raw)
    return packs.write(spec, manifest=manifest_bytes(raw))


def with_extra_entry(packs: PackFactory, entry: zipfile.ZipInfo | str, data: bytes = b"x"
                     ) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        return packs.write(update_spec(packs), extra_entries=[(entry, data)])


def replace_twice(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    """A tamper that rewrites an entry name in its local header and its central record."""
    assert len(old) == len(new)

    def tamper(data: bytes) -> bytes:
        assert data.count(old) == 2, "the name should occur once in each header"
        return data.replace(old, new)

    return tamper


def header_offsets(data: bytes, name: str) -> tuple[int, int]:
    """Where the local header and the central-directory record of entry ``name`` start."""
    wanted = name.encode()
    found = []
    # (signature, offset of the name length, offset of the name) in each kind of header
    for signature, length_at, name_at in ((LOCAL_HEADER, 26, 30), (CENTRAL_RECORD, 28, 46)):
        pos = data.find(signature)
        while pos >= 0:
            (length,) = struct.unpack_from("<H", data, pos + length_at)
            if data[pos + name_at:pos + name_at + length] == wanted:
                found.append(pos)
                break
            pos = data.find(signature, pos + 1)
    assert len(found) == 2, f"{name} not found in both headers"
    return found[0], found[1]


def put_u32(data: bytearray, offset: int, value: int) -> None:
    struct.pack_into("<I", data, offset, value)


# --- Names that would reach outside the archive -----------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../evil.md", r"'\.\./evil\.md' escapes the archive"),
        ("documents/../../evil.md", r"escapes the archive with '\.\.'"),
        ("/etc/x", r"'/etc/x' is an absolute path"),
        ("C:/x", r"'C:/x' names a drive letter"),
        ("C:x", r"'C:x' names a drive letter"),
        ("documents\\x.md", r"uses a backslash"),
    ],
    ids=["dot-dot", "dot-dot-deeper", "absolute", "drive-slash", "drive-relative", "backslash"],
)
def test_an_entry_name_escaping_the_archive_is_refused(
    library: sqlite3.Connection, packs: PackFactory, name: str, problem: str
) -> None:
    assert_refused(library, with_extra_entry(packs, name), problem)


def test_a_symbolic_link_entry_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    link = zipfile.ZipInfo("media/link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    assert_refused(library, with_extra_entry(packs, link, b"/etc/passwd"),
                   r"'media/link\.png' is a symbolic link")


def test_an_entry_name_with_a_nul_byte_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    # zipfile cuts names at a NUL ("media/x.png"); the check must see the whole name.
    pack = packs.write(update_spec(packs), extra_entries=[("media/x.png_.exe", b"MZ")],
                       tamper=replace_twice(b"media/x.png_.exe", b"media/x.png\x00.exe"))
    assert_refused(library, pack, r"NUL byte.*media/x\.png\\x00\.exe")


def test_an_entry_name_that_is_not_utf8_despite_the_utf8_flag_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    # A non-ASCII name makes zipfile set the UTF-8 flag; é becomes two invalid bytes.
    pack = packs.write(update_spec(packs), extra_entries=[("media/café.png", make_png())],
                       tamper=replace_twice("é".encode(), b"\xff\xfe"))
    assert_refused(library, pack, r"name is not valid UTF-8")


def test_an_entry_name_with_control_characters_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    assert_refused(library, with_extra_entry(packs, "media/bell\x07.png"),
                   r"control characters.*bell\\x07")


# --- Entries that are not what they seem ------------------------------------------------


def test_the_same_entry_twice_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    # The second copy would silently win in most extractors, unseen by the hash check.
    pack = with_extra_entry(packs, "documents/case-one.md", b"# Something else\n")
    assert_refused(library, pack, r"'documents/case-one\.md' more than once")


def test_two_entries_differing_only_in_case_are_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    pack = with_extra_entry(packs, "media/Diagram.png", make_png())
    assert_refused(library, pack,
                   r"'media/Diagram\.png' and 'media/diagram\.png'.*differ only in case")


def test_two_directory_records_sharing_one_local_header_are_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    # The classic overlap behind non-recursive zip bombs: two entries, one set of bytes.
    def overlap(data: bytes) -> bytes:
        target, _ = header_offsets(data, "documents/case-one.md")
        _, record = header_offsets(data, "media/diagram.png")
        patched = bytearray(data)
        put_u32(patched, record + 42, target)
        return bytes(patched)

    pack = packs.write(update_spec(packs), tamper=overlap)
    assert_refused(library, pack, r"'documents/case-one\.md' and 'media/diagram\.png' overlap")


def test_an_entry_needing_an_unknown_zip_version_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    def needs_zip_9_9(data: bytes) -> bytes:
        _, record = header_offsets(data, "media/diagram.png")
        patched = bytearray(data)
        struct.pack_into("<H", patched, record + 6, 99)  # "version needed to extract"
        return bytes(patched)

    pack = packs.write(update_spec(packs), tamper=needs_zip_9_9)
    assert_refused(library, pack, r"not a readable pack \(zip\) file.*zip file version 9\.9")


# --- Zip bombs ----------------------------------------------------------------------------


def incompressible(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def test_an_entry_over_the_per_entry_limit_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    spec.files["media/big.bin"] = incompressible(150_000)
    assert_refused(library, packs.write(spec), r"'media/big\.bin' is larger than 100,000 bytes",
                   limits=Limits(entry_bytes=100_000))


def test_entries_over_the_total_limit_are_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    for n in range(4):
        spec.files[f"media/part-{n}.bin"] = incompressible(40_000 + n)
    assert_refused(library, packs.write(spec), r"unpacks to more than 120,000 bytes",
                   limits=Limits(entry_bytes=100_000, total_bytes=120_000))


def test_a_compression_ratio_bomb_is_refused_at_the_default_limits(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    spec.files["media/zeros.bin"] = bytes(3 * 1024 * 1024)  # ~3 kB deflated: over 1000-fold
    assert_refused(library, packs.write(spec), r"'media/zeros\.bin' expands more than 100-fold")


def test_an_entry_whose_header_understates_its_size_is_refused_while_reading(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    # The headers (and even the CRC and the signed manifest) agree on a 1,000-byte file,
    # but the deflated data goes on to 300,000 bytes: the claim must not be believed.
    spec = update_spec(packs)
    spec.files["media/zeros.bin"] = bytes(300_000)
    raw = spec.manifest()
    claimed = bytes(1000)
    for entry in raw["files"]:
        if entry["path"] == "media/zeros.bin":
            entry.update(size=len(claimed), sha256=hashlib.sha256(claimed).hexdigest())

    def understate(data: bytes) -> bytes:
        patched = bytearray(data)
        local, record = header_offsets(data, "media/zeros.bin")
        for crc_at, size_at in ((local + 14, local + 22), (record + 16, record + 24)):
            put_u32(patched, crc_at, zlib.crc32(claimed))
            put_u32(patched, size_at, len(claimed))
        return bytes(patched)

    pack = packs.write(spec, manifest=manifest_bytes(raw), tamper=understate)
    assert_refused(library, pack, r"'media/zeros\.bin' holds more data than its zip header says")


def test_an_entry_whose_sizes_alone_were_patched_is_refused_while_reading(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    # Only the sizes are patched: under the limit by the headers, far over it in fact;
    # the read stops at the first chunk past the claim, not at the end of the data.
    spec = update_spec(packs)
    spec.files["media/zeros.bin"] = bytes(300_000)

    def understate(data: bytes) -> bytes:
        patched = bytearray(data)
        local, record = header_offsets(data, "media/zeros.bin")
        put_u32(patched, local + 22, 1000)
        put_u32(patched, record + 24, 1000)
        return bytes(patched)

    pack = packs.write(spec, tamper=understate)
    assert_refused(library, pack, r"'media/zeros\.bin' holds more data than its zip header says",
                   limits=Limits(entry_bytes=100_000))


# --- Manifest and contents disagree -------------------------------------------------------


def test_a_listed_file_missing_from_the_archive_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    spec.extra_manifest_files.append(
        {"path": "media/missing.png", "size": 10, "sha256": "0" * 64})
    assert_refused(library, packs.write(spec), r"does not hold: media/missing\.png")


def test_a_file_in_the_archive_but_not_listed_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    assert_refused(library, with_extra_entry(packs, "media/stowaway.png", make_png()),
                   r"does not list: media/stowaway\.png")


def test_a_file_larger_than_the_manifest_says_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    def shrink(raw: dict[str, Any]) -> None:
        next(f for f in raw["files"] if f["path"] == "documents/case-one.md")["size"] -= 5

    assert_refused(library, with_manifest(packs, shrink),
                   r"documents/case-one\.md is larger than the \d+ bytes the manifest says")


def test_a_file_smaller_than_the_manifest_says_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    def grow(raw: dict[str, Any]) -> None:
        next(f for f in raw["files"] if f["path"] == "documents/case-one.md")["size"] += 5

    assert_refused(library, with_manifest(packs, grow),
                   r"documents/case-one\.md is \d+ bytes but the manifest says \d+")


def test_a_file_with_one_byte_changed_fails_its_sha256(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    spec = update_spec(packs)
    signed_manifest = manifest_bytes(spec.manifest())
    text = spec.files["documents/case-one.md"]
    spec.files["documents/case-one.md"] = text.replace(b"small", b"smell")  # same size
    assert len(spec.files["documents/case-one.md"]) == len(text)
    assert_refused(library, packs.write(spec, manifest=signed_manifest),
                   r"documents/case-one\.md does not match its sha256")


# --- The manifest itself ------------------------------------------------------------------


def test_a_pack_without_a_manifest_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    pack = packs.write(update_spec(packs), tamper=replace_twice(b"manifest.json", b"manifest.jsox"))
    assert_refused(library, pack, r"has no manifest\.json")


def test_a_manifest_that_is_not_json_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    pack = packs.write(update_spec(packs), manifest=b'{"format": 1, "id": ')
    assert_refused(library, pack, r"manifest\.json is not valid JSON")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda raw: raw["files"][0].update(size=str(raw["files"][0]["size"])),
         r"files\[0\] 'size' must be a whole number"),
        (lambda raw: raw.update(documents={"guide": raw["documents"][0]}),
         r"'documents' must be a list"),
        (lambda raw: raw.update(title=42), r"field 'title' must be a non-empty string"),
        (lambda raw: raw.update(files="documents/guide.pdf"), r"'files' must be a list"),
        (lambda raw: raw["documents"][0].update(kind="novel"), r"kind 'novel' is not one of"),
    ],
    ids=["size-as-string", "documents-not-a-list", "title-a-number", "files-a-string",
         "unknown-kind"],
)
def test_a_manifest_with_wrong_types_is_refused(
    library: sqlite3.Connection, packs: PackFactory,
    change: Callable[[dict[str, Any]], None], problem: str,
) -> None:
    assert_refused(library, with_manifest(packs, change), problem)


def test_a_manifest_of_an_unknown_format_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    assert_refused(library, with_manifest(packs, lambda raw: raw.update(format=2)),
                   r"declares format 2; this Casebook reads format 1 only")


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", ""])
def test_a_manifest_with_a_bad_version_string_is_refused(
    library: sqlite3.Connection, packs: PackFactory, version: str
) -> None:
    problem = (r"'version' must be a non-empty string" if not version
               else rf"'version' '{version}' is not a version like 1\.2\.0")
    assert_refused(library, with_manifest(packs, lambda raw: raw.update(version=version)),
                   problem)


def test_a_document_whose_path_files_does_not_list_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    def repoint(raw: dict[str, Any]) -> None:
        raw["documents"][0]["path"] = "documents/other.pdf"

    assert_refused(library, with_manifest(packs, repoint),
                   r"'documents/other\.pdf', which 'files' does not list")


def test_a_manifest_listing_a_path_that_escapes_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    def escape(raw: dict[str, Any]) -> None:
        raw["files"].append({"path": "../outside.md", "size": 1, "sha256": "0" * 64})

    assert_refused(library, with_manifest(packs, escape), r"'\.\./outside\.md' escapes")


# --- Versions -----------------------------------------------------------------------------


def test_a_downgrade_is_refused_and_points_to_rollback(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    install_pack(store, packs.write(packs.spec(version="1.1.0")))
    older = packs.write(packs.spec(version="1.0.0"))
    assert_refused(store, older,
                   r"1\.0\.0 is older than the installed 1\.1\.0.*pack rollback org\.example")


def test_the_same_version_with_different_contents_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    changed = packs.write(packs.spec(guide_pages=["Quietly rewritten."]), name="again.cbpack")
    assert_refused(library, changed, r"1\.0\.0 was installed before with different contents")


# --- Signatures ---------------------------------------------------------------------------


def test_a_garbage_signature_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    pack = packs.write(update_spec(packs), signature=b"\x00\xffnot a signature at all")
    assert_refused(library, pack, r"manifest\.sig is not a readable Casebook signature",
                   SignatureError)


def test_a_garbage_signature_is_refused_even_when_unsigned_packs_are_allowed(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    pack = packs.write(update_spec(packs), signature=b'{"key_id": 1}')
    assert_refused(library, pack, r"manifest\.sig is not a readable Casebook signature",
                   SignatureError, allow_unsigned=True)


def test_a_signature_by_the_trusted_key_over_other_bytes_is_refused(
    library: sqlite3.Connection, packs: PackFactory, publisher_key: SecretKey
) -> None:
    forged = sign_manifest(b'{"some": "other manifest"}\n', publisher_key)
    pack = packs.write(update_spec(packs), signature=forged)
    assert_refused(library, pack, r"signature does not match publisher key 'Test Publisher'",
                   SignatureError, allow_unsigned=True)


def test_a_manifest_changed_after_signing_is_refused(
    library: sqlite3.Connection, packs: PackFactory, publisher_key: SecretKey
) -> None:
    spec = update_spec(packs)
    signed = manifest_bytes(spec.manifest())
    altered = signed.replace(b"Sample guidance", b"Sample guidancf")
    pack = packs.write(spec, manifest=altered, signature=sign_manifest(signed, publisher_key))
    assert_refused(library, pack, r"altered after signing or the signature is forged",
                   SignatureError)


def test_a_signature_by_an_unknown_key_is_refused_without_allow_unsigned(
    store: sqlite3.Connection, packs: PackFactory
) -> None:
    # A fresh pack id: an update of a signed pack would be refused for that reason first.
    stranger = generate_key("Somebody else")
    pack = packs.write(packs.spec(pack_id="org.example.other"), sign=stranger)
    install_pack(store, packs.build())
    assert_refused(store, pack, rf"key Casebook does not trust \({stranger.public.key_id}\)",
                   SignatureError)


# --- Documents ----------------------------------------------------------------------------


def with_guide(packs: PackFactory, data: bytes) -> Path:
    spec = update_spec(packs)
    spec.files["documents/guide.pdf"] = data
    return packs.write(spec)


def test_html_named_as_a_pdf_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    html = b"<html><body><h1>The guide</h1><p>Not a PDF at all.</p></body></html>"
    assert_refused(library, with_guide(packs, html),
                   r"documents/guide\.pdf is not a PDF", DocumentError)


def test_a_pdf_that_cannot_be_opened_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    garbage = b"%PDF-1.7\n" + incompressible(2000)
    assert_refused(library, with_guide(packs, garbage),
                   r"documents/guide\.pdf is a PDF that cannot be opened", DocumentError)


def test_an_encrypted_pdf_is_refused(library: sqlite3.Connection, packs: PackFactory) -> None:
    doc = pymupdf.open(stream=make_pdf(GUIDE_PAGES))
    locked = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256,
                         user_pw="secret", owner_pw="owner")
    assert_refused(library, with_guide(packs, locked),
                   r"documents/guide\.pdf is an encrypted PDF that needs a password",
                   DocumentError)


def test_a_pdf_with_no_pages_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    # PyMuPDF will not save a page-less PDF, so empty the page tree of a real one
    # (same lengths, so the cross-reference table stays right).
    data = make_pdf(["The only page."])
    assert data.count(b"/Count 1/Kids[4 0 R]") == 1
    empty = data.replace(b"/Count 1/Kids[4 0 R]", b"/Count 0/Kids[]     ")
    assert_refused(library, with_guide(packs, empty),
                   r"documents/guide\.pdf is a PDF with no pages", DocumentError)


# --- Files that are not packs -------------------------------------------------------------


def test_a_file_that_is_not_a_zip_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    pack = packs.write(update_spec(packs), name="notes.cbpack",
                       tamper=lambda _data: b"Dear reader, this is a letter, not a pack.\n")
    assert_refused(library, pack, r"notes\.cbpack is not a readable pack \(zip\) file")


def test_a_truncated_zip_is_refused(library: sqlite3.Connection, packs: PackFactory) -> None:
    pack = packs.write(update_spec(packs), name="half.cbpack",
                       tamper=lambda data: data[:len(data) // 2])
    assert_refused(library, pack, r"half\.cbpack is not a readable pack \(zip\) file")


def test_a_zip_whose_entry_data_is_corrupt_is_refused(
    library: sqlite3.Connection, packs: PackFactory
) -> None:
    def flip_a_byte(data: bytes) -> bytes:
        local, _ = header_offsets(data, "documents/case-one.md")
        (name_length, extra_length) = struct.unpack_from("<HH", data, local + 26)
        at = local + 30 + name_length + extra_length + 10
        return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]

    pack = packs.write(update_spec(packs), tamper=flip_a_byte)
    assert_refused(library, pack, r"'documents/case-one\.md' is damaged")


# --- The command line ---------------------------------------------------------------------


@pytest.fixture
def cli_data_dir(data_dir: Path, tmp_path: Path, publisher_key: SecretKey,
                 capsys: pytest.CaptureFixture[str]) -> Path:
    """A library, used through the command line, that trusts the test publisher."""
    _secret, public = write_key_pair(publisher_key, tmp_path / "publisher")
    assert main(["--data-dir", str(data_dir), "keys", "add", str(public)]) == 0
    capsys.readouterr()
    return data_dir


def install_from_cli(data_dir: Path, pack: Path, capsys: pytest.CaptureFixture[str]
                     ) -> tuple[int, str]:
    status = main(["--data-dir", str(data_dir), "pack", "install", str(pack)])
    return status, capsys.readouterr().err


def assert_cli_refusal(status: int, err: str, problem: str) -> None:
    assert status == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("casebook: ")
    assert not lines[0].startswith("casebook: Unexpected error")
    assert problem in lines[0]


def test_cli_refuses_path_traversal_in_one_line(
    cli_data_dir: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = install_from_cli(cli_data_dir, with_extra_entry(packs, "../evil.md"), capsys)
    assert_cli_refusal(status, err, "'../evil.md' escapes the archive")


def test_cli_refuses_a_forged_signature_in_one_line(
    cli_data_dir: Path, packs: PackFactory, publisher_key: SecretKey,
    capsys: pytest.CaptureFixture[str],
) -> None:
    forged = sign_manifest(b"{}\n", publisher_key)
    pack = packs.write(update_spec(packs), signature=forged)
    status, err = install_from_cli(cli_data_dir, pack, capsys)
    assert_cli_refusal(status, err, "signature does not match publisher key 'Test Publisher'")


def test_cli_refuses_a_document_that_is_not_a_pdf_in_one_line(
    cli_data_dir: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = with_guide(packs, b"<html><body>Hello</body></html>")
    status, err = install_from_cli(cli_data_dir, pack, capsys)
    assert_cli_refusal(status, err, "documents/guide.pdf is not a PDF")


def test_cli_refuses_a_zip_bomb_in_one_line(
    cli_data_dir: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = update_spec(packs)
    spec.files["media/zeros.bin"] = bytes(3 * 1024 * 1024)
    status, err = install_from_cli(cli_data_dir, packs.write(spec), capsys)
    assert_cli_refusal(status, err, "it looks like a zip bomb")


def test_cli_refuses_a_name_that_is_not_utf8_in_one_line(
    cli_data_dir: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = packs.write(update_spec(packs), extra_entries=[("media/café.png", make_png())],
                       tamper=replace_twice("é".encode(), b"\xff\xfe"))
    status, err = install_from_cli(cli_data_dir, pack, capsys)
    assert_cli_refusal(status, err, "name is not valid UTF-8")


def test_cli_refuses_a_truncated_pack_in_one_line_and_keeps_the_library(
    cli_data_dir: Path, packs: PackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(cli_data_dir), "pack", "install", str(packs.build())]) == 0
    capsys.readouterr()
    main(["--data-dir", str(cli_data_dir), "pack", "list", "--json"])
    before = json.loads(capsys.readouterr().out)

    pack = packs.write(update_spec(packs), tamper=lambda data: data[: len(data) // 2])
    status, err = install_from_cli(cli_data_dir, pack, capsys)
    assert_cli_refusal(status, err, "is not a readable pack (zip) file")
    main(["--data-dir", str(cli_data_dir), "pack", "list", "--json"])
    assert json.loads(capsys.readouterr().out) == before
