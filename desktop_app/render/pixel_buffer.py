"""Page pixels from the render worker to the window through memory both map, not
through the pipe.

A page at reading size is ~3 MB; through a 64 KB pipe it took ~50 reads and about
6 ms of a 13 ms page. Here the worker writes the pixels into a file both processes
map (in /dev/shm on Linux, so it never touches a disk), and the pipe carries only
the header. One request is in flight at a time and the window copies the pixels out
before it asks for the next page, so one buffer is enough. Anything bigger than the
buffer, or any failure to set it up, goes through the pipe as before.

No Qt here: the worker imports this too.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "CASEBOOK_PIXEL_BUFFER"
SIZE = 64 * 1024 * 1024  # an A4 page up to ~4,600 x 6,500 pixels; sparse until written


class PixelBuffer:
    def __init__(self, path: Path, handle: int, mapping: mmap.mmap, owner: bool) -> None:
        self.path = path
        self._handle = handle
        self._map = mapping
        self._owner = owner

    @classmethod
    def create(cls) -> PixelBuffer | None:
        """The window's side: a new private buffer (mode 0600), or None if the system
        will not give one (the pipe is used then)."""
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
        try:
            handle, name = tempfile.mkstemp(prefix="casebook-pixels-", dir=folder)
            os.ftruncate(handle, SIZE)
            return cls(Path(name), handle, mmap.mmap(handle, SIZE), owner=True)
        except (OSError, ValueError) as exc:
            log.info("No shared pixel buffer (%s); pages come through the pipe", exc)
            return None

    @classmethod
    def attach(cls, path: str) -> PixelBuffer | None:
        """The worker's side: map the window's buffer, or None to use the pipe."""
        try:
            handle = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
            return cls(Path(path), handle, mmap.mmap(handle, SIZE), owner=False)
        except (OSError, ValueError):
            return None

    def write(self, data: memoryview | bytes) -> int | None:
        """Put the pixels in; their length, or None when they do not fit."""
        size = len(data)
        if size > SIZE:
            return None
        self._map[:size] = data
        return size

    def read(self, size: int) -> memoryview:
        """The pixels of the last write; valid until the next request is sent."""
        if not 0 < size <= SIZE:
            raise ValueError(f"{size} bytes is not a valid pixel count")
        return memoryview(self._map)[:size]

    def release(self, size: int) -> None:
        """Give the memory of the last page back once it has been copied out: on
        Linux the buffer lives in RAM (tmpfs), and without this it would keep the
        biggest page ever drawn, counted in both processes."""
        remove = getattr(mmap, "MADV_REMOVE", None)
        if remove is not None and 0 < size <= SIZE:
            with contextlib.suppress(OSError):
                self._map.madvise(remove, 0, size)

    def close(self) -> None:
        with contextlib.suppress(BufferError, ValueError):
            self._map.close()
        with contextlib.suppress(OSError):
            os.close(self._handle)
        if self._owner:
            with contextlib.suppress(OSError):  # Windows: a dying worker still holds it
                self.path.unlink(missing_ok=True)
