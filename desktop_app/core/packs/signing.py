"""ed25519 publisher keys and manifest signatures.

A signature covers the exact bytes of ``manifest.json``, which in turn carries the
size and sha256 of every file, so one signature vouches for the whole pack. The
key that checks it always comes from the store, never from the pack.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core.errors import KeyFileError, SignatureError
from desktop_app.core.packs import strict_json

PUBLIC_KEY_TYPE = "casebook-publisher-key"
SECRET_KEY_TYPE = "casebook-publisher-secret-key"
SIGNATURE_TYPE = "casebook-manifest-signature"


def _ed25519() -> Any:
    """cryptography's ed25519, loaded when a key is made or a signature checked: the
    library (and the window's start) reads keys far more often than it uses them."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519


@dataclass(frozen=True)
class PublicKey:
    name: str
    raw: bytes

    @property
    def key_id(self) -> str:
        return key_id_of(self.raw)


@dataclass(frozen=True)
class SecretKey:
    name: str
    raw: bytes

    @property
    def public(self) -> PublicKey:
        key = _ed25519().Ed25519PrivateKey.from_private_bytes(self.raw).public_key()
        return PublicKey(self.name, key.public_bytes_raw())


@dataclass(frozen=True)
class SignatureCheck:
    """Who signed a manifest: ``signed`` (a trusted key), ``unsigned`` or ``unknown-signer``."""

    trust: str
    key_id: str | None = None
    signer_name: str | None = None


def key_id_of(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


def generate_key(name: str) -> SecretKey:
    return SecretKey(name, _ed25519().Ed25519PrivateKey.generate().private_bytes_raw())


def write_key_pair(secret: SecretKey, stem: Path) -> tuple[Path, Path]:
    """Write ``STEM.key`` (secret, keep it safe) and ``STEM.pub`` (give it to readers)."""
    secret_path, public_path = stem.with_suffix(".key"), stem.with_suffix(".pub")
    _write_json(secret_path, {"type": SECRET_KEY_TYPE, "name": secret.name,
                              "secret_key": _b64(secret.raw)})
    secret_path.chmod(0o600)
    public_path.write_bytes(public_key_bytes(secret.public))
    return secret_path, public_path


def public_key_json(key: PublicKey) -> dict[str, str]:
    return {"type": PUBLIC_KEY_TYPE, "name": key.name, "key_id": key.key_id,
            "public_key": _b64(key.raw)}


def public_key_bytes(key: PublicKey) -> bytes:
    """A ``.pub`` key file's bytes."""
    return (json.dumps(public_key_json(key), indent=2) + "\n").encode("utf-8")


def load_public_key(path: Path) -> PublicKey:
    data = _read_key_file(path, PUBLIC_KEY_TYPE)
    raw = _unb64(data.get("public_key"), 32, path)
    return PublicKey(_name(data, path), raw)


def parse_public_key(data: bytes, where: str) -> PublicKey:
    """A ``.pub`` key file's contents, fetched from ``where``."""
    try:
        body = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        raise KeyFileError(f"{where} is not a Casebook key file.") from None
    if not isinstance(body, dict) or body.get("type") != PUBLIC_KEY_TYPE:
        raise KeyFileError(f"{where} is not a Casebook public key file.")
    return PublicKey(_name(body, where), _unb64(body.get("public_key"), 32, where))


def load_secret_key(path: Path) -> SecretKey:
    data = _read_key_file(path, SECRET_KEY_TYPE)
    raw = _unb64(data.get("secret_key"), 32, path)
    return SecretKey(_name(data, path), raw)


def sign_manifest(manifest: bytes, secret: SecretKey) -> bytes:
    signature = _ed25519().Ed25519PrivateKey.from_private_bytes(secret.raw).sign(manifest)
    body = {"type": SIGNATURE_TYPE, "algorithm": "ed25519",
            "key_id": secret.public.key_id, "signature": _b64(signature)}
    return json.dumps(body, indent=2).encode("utf-8") + b"\n"


def check_signature(
    manifest: bytes, signature_file: bytes | None, trusted: dict[str, PublicKey]
) -> SignatureCheck:
    """Check ``manifest.sig`` against the trusted keys (by key id)."""
    if signature_file is None:
        return SignatureCheck("unsigned")
    try:
        body = strict_json.loads(signature_file)
        key_id = body["key_id"]
        algorithm = body["algorithm"]
        signature = base64.b64decode(body["signature"], validate=True)
    except strict_json.DuplicateKeyError as exc:
        raise SignatureError(f"manifest.sig names {exc.key!r} twice; a signature that reads "
                             "two ways is refused.") from None
    # ValueError and RecursionError: json.loads on deep nesting or 4,300-digit numbers,
    # b64decode on non-ASCII text (tests/fuzz/test_pack_reader_fuzz.py).
    except (ValueError, RecursionError, KeyError, TypeError, binascii.Error):
        raise SignatureError("manifest.sig is not a readable Casebook signature.") from None
    if algorithm != "ed25519" or not isinstance(key_id, str):
        raise SignatureError(f"manifest.sig uses an unsupported algorithm ({algorithm!r}).")
    key = trusted.get(key_id)
    if key is None:
        return SignatureCheck("unknown-signer", key_id=key_id)
    from cryptography.exceptions import InvalidSignature

    try:
        _ed25519().Ed25519PublicKey.from_public_bytes(key.raw).verify(signature, manifest)
    except InvalidSignature:
        raise SignatureError(
            f"The pack's signature does not match publisher key {key.name!r} ({key_id}): "
            "the pack was altered after signing or the signature is forged."
        ) from None
    return SignatureCheck("signed", key_id=key_id, signer_name=key.name)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(value: object, length: int, path: Path | str) -> bytes:
    try:
        raw = base64.b64decode(str(value), validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != length:
        raise KeyFileError(f"{path} does not hold a valid ed25519 key.")
    return raw


def _name(data: dict, path: Path | str) -> str:
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise KeyFileError(f"{path} does not name its publisher.")
    return name


def _read_key_file(path: Path, expected_type: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyFileError(f"Cannot read the key file {path} ({exc.strerror}).") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyFileError(f"{path} is not a Casebook key file.") from None
    if not isinstance(data, dict) or data.get("type") != expected_type:
        kind = "public" if expected_type == PUBLIC_KEY_TYPE else "secret"
        raise KeyFileError(f"{path} is not a Casebook {kind} key file.")
    return data


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
