"""``labeler open`` as a real process on the offscreen platform."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from labeler.store import Store
from tests.gui.gui_helpers import fill_text

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "labeler", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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
