"""Framing for the render worker's pipes: a small JSON header and raw payload bytes.

A frame is ``>II`` (header length, payload length), the header as UTF-8 JSON, then the
payload. JSON headers mean the GUI never unpickles anything the worker sends, and pixel
data travels as raw bytes, not as JSON text. No Qt here: the worker imports this module.
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO

PREFIX = struct.Struct(">II")
# A header is a few kB at most (an outline of a big document); anything larger means
# the stream is out of step, and reading on would misread everything after it.
MAX_HEADER = 64 * 1024 * 1024
MAX_PAYLOAD = 2 * 1024 * 1024 * 1024


class ProtocolError(Exception):
    """The other side sent something that is not a frame."""


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    return PREFIX.pack(len(raw), len(payload)) + raw + payload


def read_frame(stream: BinaryIO) -> tuple[dict[str, Any], bytes] | None:
    """The next frame from a blocking stream, or None at a clean end of stream."""
    prefix = _read_exactly(stream, PREFIX.size)
    if prefix is None:
        return None
    header_len, payload_len = PREFIX.unpack(prefix)
    _check_sizes(header_len, payload_len)
    raw = _read_exactly(stream, header_len)
    payload = _read_exactly(stream, payload_len) if payload_len else b""
    if raw is None or payload is None:
        raise ProtocolError("stream ended inside a frame")
    return _decode_header(raw), payload


class FrameBuffer:
    """Collects bytes as they arrive (from a non-blocking pipe) and yields whole frames."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, data: bytes) -> list[tuple[dict[str, Any], bytes]]:
        self._data += data
        frames = []
        while len(self._data) >= PREFIX.size:
            header_len, payload_len = PREFIX.unpack_from(self._data)
            _check_sizes(header_len, payload_len)
            end = PREFIX.size + header_len + payload_len
            if len(self._data) < end:
                break
            raw = bytes(self._data[PREFIX.size:PREFIX.size + header_len])
            payload = bytes(self._data[PREFIX.size + header_len:end])
            del self._data[:end]
            frames.append((_decode_header(raw), payload))
        return frames


def _check_sizes(header_len: int, payload_len: int) -> None:
    if header_len > MAX_HEADER or payload_len > MAX_PAYLOAD:
        raise ProtocolError(f"frame too large ({header_len} + {payload_len} bytes)")


def _decode_header(raw: bytes) -> dict[str, Any]:
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError(f"header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    return header


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks = []
    remaining = size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            if remaining == size:
                return None
            raise ProtocolError("stream ended inside a frame")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
