"""A bounded LRU cache of rendered pages, counted in bytes of pixels."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtGui import QImage

Key = tuple[str, int, float]  # (doc_key, page, scale)

# About 20 A4 pages at 1.4x on a 2x screen: enough to scroll back without re-rendering;
# 200 MB kept the window over 300 MB resident (benchmarks/gui.py).
DEFAULT_LIMIT = 64 * 1024 * 1024


class ImageCache:
    def __init__(self, limit_bytes: int = DEFAULT_LIMIT) -> None:
        self.limit_bytes = limit_bytes
        self._images: OrderedDict[Key, QImage] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._images)

    def __contains__(self, key: Key) -> bool:
        return key in self._images

    def get(self, key: Key) -> QImage | None:
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
        return image

    def any_scale(self, doc_key: str, page: int, near: float) -> QImage | None:
        """The page at whichever cached scale is closest to ``near``: shown, stretched,
        while the right scale renders, so zooming never flashes back to placeholders."""
        best, best_distance = None, None
        for (doc, number, scale), image in self._images.items():
            if doc == doc_key and number == page:
                distance = abs(scale - near)
                if best_distance is None or distance < best_distance:
                    best, best_distance = image, distance
        return best

    def put(self, key: Key, image: QImage) -> None:
        self.discard(key)
        size = image.sizeInBytes()
        if size > self.limit_bytes:
            return
        self._images[key] = image
        self._bytes += size
        while self._bytes > self.limit_bytes:
            _, old = self._images.popitem(last=False)
            self._bytes -= old.sizeInBytes()

    def discard(self, key: Key) -> None:
        old = self._images.pop(key, None)
        if old is not None:
            self._bytes -= old.sizeInBytes()

    def drop_document(self, doc_key: str) -> None:
        for key in [key for key in self._images if key[0] == doc_key]:
            self.discard(key)
