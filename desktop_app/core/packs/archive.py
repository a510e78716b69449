"""Reading a pack's zip archive without trusting anything it claims.

Names are checked before anything is read; sizes in the headers are claims, so
bytes are counted while they are decompressed; and a compression ratio that only
a zip bomb reaches stops the read at once.
"""

from __future__ import annotations

import copy
import hashlib
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.errors import PackError

_DRIVE = re.compile(r"[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Characters no Windows file name may hold; ':' would also name an NTFS alternate data
# stream ("guide.pdf:Zone.Identifier"), and macOS shows it as '/'.
_WINDOWS_FORBIDDEN = '<>:"|?*'
# Device names Windows opens instead of a file, with any extension ("CON.md", "aux.png");
# the superscript digits are devices too.
_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{digit}" for port in ("COM", "LPT") for digit in "123456789\u00b9\u00b2\u00b3"]
)
# Characters whose count must survive NFKC: a fullwidth '．' or '／' becomes '.' or '/'
# wherever a name is normalised (macOS, many tools), and "．．／x" becomes "../x".
_PATH_SYNTAX = "/\\.:"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    archive_bytes: int = 2 * 1024**3
    entries: int = 10_000
    entry_bytes: int = 512 * 1024**2
    total_bytes: int = 2 * 1024**3
    # Text and PDFs compress 3-10:1; a ratio past this on a sizeable entry is a bomb.
    ratio: int = 100
    ratio_floor_bytes: int = 1024 * 1024


def check_entry_name(name: str) -> None:
    """Refuse any name that could address something outside the archive's own tree."""
    if "\x00" in name:
        raise PackError(f"The pack has an entry whose name holds a NUL byte ({name!r}).")
    if _CONTROL.search(name):
        raise PackError(f"The pack has an entry whose name holds control characters ({name!r}).")
    if "\\" in name:
        raise PackError(f"The pack entry {name!r} uses a backslash; only '/' may separate folders.")
    if name.startswith("/"):
        raise PackError(f"The pack entry {name!r} is an absolute path.")
    if _DRIVE.match(name):
        raise PackError(f"The pack entry {name!r} names a drive letter.")
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        raise PackError(f"The pack entry {name!r} escapes the archive with '..'.")
    if any(part in ("", ".") for part in parts):
        raise PackError(f"The pack entry {name!r} has an empty or '.' path component.")
    if len(name.encode("utf-8")) > 255:
        raise PackError(f"The pack entry name {name[:40]!r}... is longer than 255 bytes.")
    _check_portable_name(name, parts)


def _check_portable_name(name: str, parts: list[str]) -> None:
    """Refuse names that cannot exist, or mean something else, on Windows or macOS.

    Packs are read on Windows, and exports and the frozen app write files there: a name
    that is a device, a stream or a different path once normalised is refused here,
    where the reason can be given, rather than misbehaving later.
    """
    shown = repr(name)  # repr escapes what is not printable: the message carries no U+202E
    for char in name:
        if unicodedata.category(char) in ("Cf", "Zl", "Zp"):
            raise PackError(
                f"The pack entry {shown} holds the invisible format character "
                f"U+{ord(char):04X} (bidi overrides and the like make a name read "
                "differently from what it is)."
            )
    forbidden = sorted({char for char in name if char in _WINDOWS_FORBIDDEN})
    if forbidden:
        raise PackError(
            f"The pack entry {shown} holds {', '.join(map(repr, forbidden))}, which Windows "
            "does not allow in file names (':' would name an NTFS alternate data stream)."
        )
    for part in parts:
        if part.endswith((".", " ")):
            raise PackError(
                f"The pack entry {shown} has a name ending in a dot or a space, which "
                "Windows silently drops (it would be another file there)."
            )
        device = part.split(".")[0].rstrip(" ").upper()
        if device in _DEVICE_NAMES:
            raise PackError(
                f"The pack entry {shown} is named after the Windows device {device}, "
                "which Windows opens instead of a file."
            )
    normalised = unicodedata.normalize("NFKC", name)
    if any(normalised.count(char) != name.count(char) for char in _PATH_SYNTAX):
        raise PackError(
            f"The pack entry {shown} holds characters that Unicode normalisation turns into "
            f"path syntax ({normalised!r}): it would name another path on some systems."
        )


class PackArchive:
    """An opened pack archive whose entry table has passed every structural check."""

    def __init__(self, zf: zipfile.ZipFile, path: Path, limits: Limits) -> None:
        self._zip = zf
        self._path = path
        self._limits = limits
        self._read_total = 0
        self._entries = self._checked_entries()

    @property
    def names(self) -> set[str]:
        return set(self._entries)

    def _checked_entries(self) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if len(infos) > self._limits.entries:
            raise PackError(
                f"The pack has {len(infos):,} entries; the limit is {self._limits.entries:,}."
            )
        entries: dict[str, zipfile.ZipInfo] = {}
        folded: dict[str, str] = {}  # case-folded name -> name as written
        for info in infos:
            # zipfile cuts a name at a NUL byte; orig_filename keeps what was written.
            check_entry_name(info.orig_filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise PackError(f"The pack entry {info.filename!r} is a symbolic link.")
            if info.flag_bits & 0x1:
                raise PackError(f"The pack entry {info.filename!r} is encrypted.")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise PackError(
                    f"The pack entry {info.filename!r} uses an unsupported compression method."
                )
            key = unicodedata.normalize("NFC", info.filename).casefold()
            if folded.get(key) == info.filename:
                raise PackError(f"The pack holds {info.filename!r} more than once.")
            if key in folded:
                # Said plainly: "more than once" would puzzle a reader who sees two names.
                raise PackError(
                    f"The pack holds {info.filename!r} and {folded[key]!r}, names that differ "
                    "only in case or accents: they would be one file on Windows and macOS."
                )
            folded[key] = info.filename
            if info.is_dir():
                continue
            entries[info.filename] = info
        self._check_no_overlap(infos)
        return entries

    def _check_no_overlap(self, infos: list[zipfile.ZipInfo]) -> None:
        # Overlapping entries let a few bytes expand many times over (a "better zip
        # bomb"). Each local header, its name, its extra field and its data must end
        # before the next entry starts, and the last before the central directory.
        stream = self._zip.fp
        ordered = sorted(infos, key=lambda i: i.header_offset)
        following = [(i.header_offset, repr(i.filename)) for i in ordered[1:]]
        following.append((self._zip.start_dir, "the central directory"))
        for info, (next_start, next_name) in zip(ordered, following, strict=True):
            if info.header_offset < 0:
                # zipfile shifts every offset by the bytes it thinks were prepended; a cut
                # start makes that negative, and seek() would raise OSError (tests/fuzz).
                raise PackError(
                    f"The pack entry {info.filename!r} starts before the archive does: "
                    "the archive is damaged."
                )
            stream.seek(info.header_offset)
            header = stream.read(30)
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                raise PackError(
                    f"The pack entry {info.filename!r} has no valid local header: "
                    "the archive is damaged."
                )
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            end = info.header_offset + 30 + name_length + extra_length + info.compress_size
            if end > next_start:
                raise PackError(
                    f"The pack entries {info.filename!r} and {next_name} overlap: "
                    "the archive is malformed or hostile."
                )

    def has(self, name: str) -> bool:
        return name in self._entries

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """Read one entry, counting bytes and checking the limits as they arrive."""
        limit = min(self._limits.entry_bytes, max_bytes if max_bytes is not None else 1 << 62)
        return self._read(
            name, limit,
            f"The pack entry {name!r} is larger than {limit:,} bytes once decompressed.",
        )

    def _read(self, name: str, limit: int, too_large: str) -> bytes:
        info = self._entries[name]
        # zipfile stops at the file_size the header claims, and believes it when the CRC
        # fits: a lying header would hide data that other unzip tools do see. Read to the
        # real end of the data instead, and let the counts below decide.
        unbounded = copy.copy(info)
        unbounded.file_size = 1 << 62
        chunks: list[bytes] = []
        size = 0
        try:
            with self._zip.open(unbounded) as stream:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    self._read_total += len(chunk)
                    if size > info.file_size:
                        raise PackError(
                            f"The pack entry {name!r} holds more data than its zip header says "
                            f"({info.file_size:,} bytes): the archive is damaged or hostile."
                        )
                    if size > limit:
                        raise PackError(too_large)
                    if self._read_total > self._limits.total_bytes:
                        raise PackError(
                            f"The pack unpacks to more than {self._limits.total_bytes:,} bytes."
                        )
                    if (
                        size > self._limits.ratio_floor_bytes
                        and size > self._limits.ratio * max(info.compress_size, 1)
                    ):
                        raise PackError(
                            f"The pack entry {name!r} expands more than "
                            f"{self._limits.ratio}-fold past "
                            f"{self._limits.ratio_floor_bytes:,} bytes: it looks like a zip "
                            f"bomb (the limit is {self._limits.ratio}:1 for entries over "
                            f"{self._limits.ratio_floor_bytes:,} bytes). A genuine file "
                            "this repetitive must be stored uncompressed in the pack, as "
                            "casebook pack build does."
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                NotImplementedError) as exc:
            raise PackError(f"The pack entry {name!r} is damaged ({exc}).") from None
        if size != info.file_size:
            raise PackError(
                f"The pack entry {name!r} holds {size:,} bytes but its zip header says "
                f"{info.file_size:,}: the archive is damaged or hostile."
            )
        return b"".join(chunks)

    def read_verified(self, name: str, size: int, sha256: str) -> bytes:
        """Read an entry the manifest lists and check it against the listed size and hash."""
        if size >= self._limits.entry_bytes:
            data = self.read(name)
        else:
            # Stop at the listed size, and say that it is the manifest that disagrees.
            data = self._read(
                name, size,
                f"{name} is larger than the {size:,} bytes the manifest says: "
                "the pack is damaged or was altered.",
            )
        if len(data) != size:
            raise PackError(
                f"{name} is {len(data):,} bytes but the manifest says {size:,}: "
                "the pack is damaged or was altered."
            )
        if hashlib.sha256(data).hexdigest() != sha256:
            raise PackError(
                f"{name} does not match its sha256 in the manifest: "
                "the pack is damaged or was altered."
            )
        return data


@contextmanager
def open_archive(path: Path, limits: Limits | None = None) -> Iterator[PackArchive]:
    limits = limits or Limits()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PackError(f"The pack file {path} cannot be read ({exc.strerror}).") from None
    if size > limits.archive_bytes:
        raise PackError(f"The pack file is {size:,} bytes; the limit is {limits.archive_bytes:,}.")
    try:
        zf = zipfile.ZipFile(path)
    # UnicodeDecodeError is a ValueError, so it must be caught first to be named.
    except UnicodeDecodeError:
        raise PackError(f"{path.name} has an entry whose name is not valid UTF-8.") from None
    # NotImplementedError: a "version needed to extract" beyond what zipfile knows.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            NotImplementedError) as exc:
        raise PackError(f"{path.name} is not a readable pack (zip) file: {exc}.") from None
    with zf:
        yield PackArchive(zf, path, limits)
