"""``labeler open`` as a real process on the offscreen platform."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from labeler.store import Store
from tests.gui.gui_helpers import fill_text
from tests.helpers import run_cli

pytestmark = pytest.mark.gui


def test_open_with_screenshot(tmp_path) -> None:
    store = Store.create(tmp_path / "proj", modality="text", labels=["a", "b"])
    fill_text(store, 5)
    store.close()
    out = tmp_path / "shot.png"
    result = run_cli("open", str(tmp_path / "proj"), "--screenshot", str(out))
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)
    assert Store.open(tmp_path / "proj").labels.events() == []  # looking changes nothing


def test_open_missing_project_is_one_line_error(tmp_path) -> None:
    result = run_cli("open", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no such project folder" in result.stderr
