"""Images of upcoming samples, decoded off the GUI thread.

The annotate queue's fetch runs on the database worker thread; for image samples it also
decodes their files there (``QImage`` may be built on any thread; only ``QPixmap`` is tied to
the GUI thread). The image view then takes the decoded image instead of reading and decoding
the file while the annotator waits. A file not decoded ahead (the cache was full, or it
changed) is decoded on show, as before. The cache holds at most :data:`BUDGET_BYTES`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from PySide6.QtGui import QImage

BUDGET_BYTES = 256 * 1024 * 1024


class DecodedImages:
    """A small, thread-safe, least-recently-added cache of decoded images by file path."""

    def __init__(self, budget: int = BUDGET_BYTES) -> None:
        self.budget = budget
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.decoded_on: dict[str, int] = {}  # path -> thread ident that decoded it (tests)

    def preload(self, paths: Iterable[str | None]) -> None:
        """Decode ``paths`` (skipping those held) on the calling thread."""
        for path in paths:
            if not path:
                continue
            with self._lock:
                if path in self._images:
                    continue
            image = QImage(path)
            if image.isNull():
                continue
            with self._lock:
                self._images[path] = image
                self._bytes += image.sizeInBytes()
                self.decoded_on[path] = threading.get_ident()
                while self._bytes > self.budget and len(self._images) > 1:
                    old, dropped = self._images.popitem(last=False)
                    self._bytes -= dropped.sizeInBytes()
                    self.decoded_on.pop(old, None)

    def take(self, path: str) -> QImage | None:
        """The decoded image of ``path`` (removed from the cache), or None."""
        with self._lock:
            image = self._images.pop(path, None)
            if image is not None:
                self._bytes -= image.sizeInBytes()
            return image


DECODED = DecodedImages()
