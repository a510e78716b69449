"""The pack reader on random and damaged files: it returns a pack whose every file
matches its manifest, or refuses with a PackError; never another exception, and
never more than the limits allow."""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from desktop_app.core.errors import PackError
from desktop_app.core.packs.archive import Limits
from desktop_app.core.packs.manifest import manifest_bytes
from desktop_app.core.packs.reader import read_pack
from desktop_app.core.packs.signing import generate_key, sign_manifest
from tests.fuzz.strategies import (
    HOSTILE_JSON_TEXTS,
    JSON_VALUES,
    SPECIAL_TEXT,
    examples,
    json_text,
    mutated_bytes,
    mutated_json,
)
from tests.packfactory import PackFactory

# Small limits, so that a mutation that inflates anything meets them.
LIMITS = Limits(archive_bytes=64 * 1024, entries=12, entry_bytes=24 * 1024,
                total_bytes=48 * 1024, ratio=50, ratio_floor_bytes=2048)
KEY = generate_key("Fuzz Publisher")
TRUSTED = {KEY.public.key_id: KEY.public}
_FOLDER = tempfile.TemporaryDirectory(prefix="casebook-fuzz-packs-")
FACTORY = PackFactory(Path(_FOLDER.name), KEY)
SPEC = FACTORY.spec(guide_pages=["One short page.", "Another page."])
MANIFEST = SPEC.manifest()
SIGNATURE = sign_manifest(manifest_bytes(MANIFEST), KEY)


def pack_bytes(manifest: bytes | None = None, signature: bytes | None = None,
               extra: list[tuple[str, bytes]] = ()) -> bytes:
    path = FACTORY.write(SPEC, "built.cbpack", manifest=manifest, signature=signature,
                         extra_entries=extra)
    return path.read_bytes()


VALID = pack_bytes()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-packs")


def check(folder: Path, data: bytes) -> None:
    path = folder / "fuzzed.cbpack"
    path.write_bytes(data)
    try:
        pack = read_pack(path, TRUSTED, LIMITS)
    except PackError as exc:
        assert str(exc), "a refusal must say what is wrong"
        return
    # Accepted: every listed file is there, whole, as the manifest says, within limits.
    listed = {entry.path: entry for entry in pack.manifest.files}
    assert set(pack.files) == set(listed)
    for name, content in pack.files.items():
        assert len(content) == listed[name].size <= LIMITS.entry_bytes
        assert hashlib.sha256(content).hexdigest() == listed[name].sha256
    assert sum(map(len, pack.files.values())) <= LIMITS.total_bytes
    assert pack.signature.trust in ("signed", "unsigned", "unknown-signer")
    if pack.signature.trust == "signed":
        assert pack.signature.key_id == KEY.public.key_id


def test_the_valid_pack_is_read_within_the_small_limits(folder: Path) -> None:
    (folder / "valid.cbpack").write_bytes(VALID)
    assert read_pack(folder / "valid.cbpack", TRUSTED, LIMITS).signature.trust == "signed"


ZIP_MAGIC = st.sampled_from([b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b""])


@settings(max_examples=examples(250), deadline=None)
@given(st.one_of(
    st.binary(max_size=512),
    st.tuples(ZIP_MAGIC, st.binary(max_size=256), ZIP_MAGIC, st.binary(max_size=64))
    .map(b"".join),
))
def test_random_bytes_are_refused_with_a_pack_error(folder: Path, data: bytes) -> None:
    check(folder, data)


@settings(max_examples=examples(625), deadline=None)
@given(mutated_bytes(VALID, max_mutations=6))
# Found by this property: with the first byte gone, zipfile's offsets turn negative and
# the overlap check's seek() raised OSError.
@example(VALID[1:])
def test_a_damaged_pack_is_read_whole_or_refused(folder: Path, data: bytes) -> None:
    check(folder, data)


def _signed(raw_manifest: bytes) -> bytes:
    return pack_bytes(manifest=raw_manifest, signature=sign_manifest(raw_manifest, KEY))


@settings(max_examples=examples(150), deadline=None)
@given(st.one_of(
    mutated_json(MANIFEST).map(json_text),
    mutated_bytes(manifest_bytes(MANIFEST)),
))
def test_a_signed_pack_with_a_changed_manifest_is_read_whole_or_refused(
    folder: Path, raw_manifest: bytes
) -> None:
    # Signed with the trusted key after the change: only the manifest's own checks and
    # the files' sizes and hashes stand between it and the store.
    check(folder, _signed(raw_manifest))


SIGNATURES = st.one_of(
    HOSTILE_JSON_TEXTS,
    st.binary(max_size=64),
    mutated_json(json.loads(SIGNATURE)).map(json_text),
    JSON_VALUES.map(json_text),
)


@settings(max_examples=examples(150), deadline=None)
@given(SIGNATURES)
# Found by this property: json.loads raises RecursionError on deep nesting, and a plain
# ValueError on a 4,300-digit number; check_signature let both through.
@example(b"[" * 3000)
@example(b'{"key_id": ' + b"1" * 4400 + b"}")
# and base64 refuses non-ASCII text with a plain ValueError.
@example(SIGNATURE.replace(b'"signature": "', b'"signature": "\\u0080'))
def test_any_signature_file_is_checked_or_refused(folder: Path, signature: bytes) -> None:
    check(folder, pack_bytes(signature=signature))


ENTRY_NAMES = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12),
    # zipfile cannot write a surrogate; the manifest tests cover those.
    SPECIAL_TEXT.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)),
    st.sampled_from(["../evil", "/etc/passwd", "C:/x", "a//b", "./a", "MANIFEST.JSON",
                     "Documents/Guide.pdf", "media/", "a\\b", "manifest.json"]),
)


@pytest.mark.filterwarnings("ignore:Duplicate name")  # two entries of one name: on purpose
@settings(max_examples=examples(150), deadline=None)
@given(st.lists(st.tuples(ENTRY_NAMES, st.binary(max_size=32)), min_size=1, max_size=3))
def test_extra_entries_with_any_name_are_refused_unless_folders(
    folder: Path, extra: list[tuple[str, bytes]]
) -> None:
    try:
        data = pack_bytes(extra=[(zipfile.ZipInfo(name), content) for name, content in extra])
    except (ValueError, UnicodeEncodeError):
        return  # zipfile itself will not write that name
    path = folder / "extra.cbpack"
    path.write_bytes(data)
    try:
        pack = read_pack(path, TRUSTED, LIMITS)
    except PackError:
        return
    # Only folder entries may pass: a file the manifest does not list never does.
    assert all(name.endswith("/") for name, _content in extra)
    assert set(pack.files) == {entry.path for entry in pack.manifest.files}
