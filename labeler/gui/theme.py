"""Light and dark themes (Fusion style with a palette, plus a small style sheet)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

_COLORS = {
    "light": {
        "window": "#f4f5f7",
        "base": "#ffffff",
        "alt": "#f0f2f5",
        "text": "#1d2329",
        "muted": "#5c6670",
        "button": "#e7eaee",
        "highlight": "#2f6fde",
        "suggest": "#d7f0dc",
        "suggest_border": "#2e9d4b",
        "checked": "#2f6fde",
        "flag": "#b35c00",
    },
    "dark": {
        "window": "#1f2227",
        "base": "#16181c",
        "alt": "#23262c",
        "text": "#e6e8eb",
        "muted": "#9aa3ad",
        "button": "#2e333a",
        "highlight": "#5b8def",
        "suggest": "#1f3d2a",
        "suggest_border": "#49b36a",
        "checked": "#5b8def",
        "flag": "#f0a04b",
    },
}


def style_sheet(theme: str) -> str:
    c = _COLORS.get(theme, _COLORS["light"])
    return f"""
    QLabel#projectTitle {{ font-size: 12pt; font-weight: 600; color: {c["muted"]}; }}
    QLabel#hints {{ color: {c["muted"]}; }}
    QLabel#flagNote {{ color: {c["flag"]}; font-weight: 600; }}
    QLabel#connectionBanner {{ color: {c["flag"]}; font-weight: 600; padding: 4px 0; }}
    QLabel#sampleMessage {{ color: {c["muted"]}; }}
    QLabel#startTitle {{ font-size: 22pt; font-weight: 700; }}
    QLabel#startSubtitle {{ color: {c["muted"]}; font-size: 11pt; }}
    QPlainTextEdit#sampleText {{ background: {c["base"]}; border-radius: 6px; }}
    QWidget#labelBar QPushButton {{ font-size: 12pt; padding: 6px 10px; text-align: left; }}
    QWidget#labelBar QPushButton[suggested="true"] {{
        background: {c["suggest"]}; border: 2px solid {c["suggest_border"]}; border-radius: 4px; }}
    QWidget#labelBar QPushButton:checked {{
        background: {c["checked"]}; color: white; border-radius: 4px; }}
    QPushButton#failureButton {{ color: {c["flag"]}; border: none; text-align: left; }}
    QGroupBox {{ font-weight: 600; }}
    QWidget#startScreen QPushButton {{ font-size: 11pt; text-align: left; padding: 6px 14px; }}
    QWidget#startScreen QGroupBox {{ font-size: 11pt; }}
    QListWidget#recentProjects {{ font-size: 11pt; }}
    QListWidget#recentProjects::item {{ padding: 8px 6px; border-bottom: 1px solid {c["alt"]}; }}
    """


def apply_theme(app: QApplication, theme: str) -> None:
    c = _COLORS.get(theme, _COLORS["light"])
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(c["window"]))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.Base, QColor(c["base"]))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(c["alt"]))
    pal.setColor(QPalette.ColorRole.Text, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.Button, QColor(c["button"]))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(c["highlight"]))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor(c["base"]))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor(c["text"]))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(c["muted"]))
    app.setPalette(pal)
    app.setStyleSheet(style_sheet(theme))
    font = QFont(app.font())
    if font.pointSize() < 10:
        font.setPointSize(10)
        app.setFont(font)
