"""Image samples are decoded off the GUI thread: the queue's fetch decodes the files on the
database worker, and the image view shows the decoded image."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from labeler.gui.image_cache import DECODED, DecodedImages
from labeler.store import Store
from tests.gui.gui_helpers import open_and_wait, press, shown_id
from tests.learning_data import add_images

pytestmark = pytest.mark.gui


def test_images_are_decoded_on_the_fetch_thread(qtbot, window, tmp_path) -> None:
    store = Store.create(tmp_path / "imgs", modality="image", labels=["dark", "light"])
    pixels = np.concatenate([np.full((6, 40, 40), 30), np.full((6, 40, 40), 220)])
    add_images(store, tmp_path / "files", pixels)
    view = open_and_wait(qtbot, window, store)
    for _ in range(3):
        press(qtbot, view, "1")
    sid = shown_id(view)
    path = store.samples.get(sid).file_ref
    decoded_on = DECODED.decoded_on.get(path)
    assert decoded_on is not None and decoded_on != threading.main_thread().ident
    image_view = view.display.view_for("image")
    assert image_view.error is None and not image_view.displayed_size().isEmpty()


def test_the_cache_keeps_within_its_budget(tmp_path) -> None:
    from PIL import Image

    paths = []
    for i in range(5):
        path = tmp_path / f"i{i}.png"
        Image.fromarray(np.full((100, 100), i * 40, dtype=np.uint8), mode="L").save(path)
        paths.append(str(path))
    cache = DecodedImages(budget=3 * 100 * 100)  # room for about three 8-bit images
    cache.preload(paths)
    assert cache.take(paths[0]) is None  # the oldest made room
    assert cache.take(paths[4]) is not None
    assert cache.take(paths[4]) is None  # taken once
    cache.preload([str(tmp_path / "missing.png"), None])  # unreadable: left to the view
    assert cache.take(str(tmp_path / "missing.png")) is None
