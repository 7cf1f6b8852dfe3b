"""The application carries Labeler's icon (the one the Linux desktop entry names), from the
package data, so a pip install and the PyInstaller build both have it."""

from __future__ import annotations

import configparser
from pathlib import Path

from labeler.gui.app import ICON, ensure_app

ROOT = Path(__file__).resolve().parents[2]


def test_the_window_icon_is_labelers_svg(qapp):
    app = ensure_app()
    assert ICON.is_file()
    assert not app.windowIcon().isNull()
    assert app.windowIcon().availableSizes() or not app.windowIcon().pixmap(32, 32).isNull()


def test_the_desktop_entry_names_the_icon_and_the_app():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(ROOT / "packaging" / "labeler.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Exec"] == "labeler"
    assert entry["Icon"] == ICON.stem
    assert entry["StartupWMClass"] == "Labeler"
