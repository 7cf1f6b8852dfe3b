"""Starting the desktop application."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from labeler.gui.main_window import MainWindow

ICON = Path(__file__).resolve().parents[1] / "assets" / "labeler.svg"
SCREENSHOT_SIZE = (1280, 800)
SCREENSHOT_TIMEOUT_MS = 120_000


def ensure_app() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Labeler")
        app.setOrganizationName("Labeler")
        app.setDesktopFileName("labeler")  # matches packaging/labeler.desktop
    if app.windowIcon().isNull():  # type: ignore[union-attr]
        app.setWindowIcon(QIcon(str(ICON)))  # type: ignore[union-attr]
    return app  # type: ignore[return-value]


def save_screenshot(window: MainWindow, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()
    if not window.grab().save(str(out)):
        raise OSError(f"{out}: cannot write the screenshot")
    return out


def run(project: str | None, *, screenshot: str | None = None, review: bool = False) -> int:
    """Show the main window (on ``project`` if given) and run the event loop."""
    app = ensure_app()
    window = MainWindow()
    status = {"code": 0}

    if screenshot:
        window.resize(*SCREENSHOT_SIZE)

        def shoot() -> None:
            try:
                out = save_screenshot(window, screenshot)
                print(f"saved screenshot {out}")
            except OSError as exc:
                print(f"labeler: error: {exc}", file=sys.stderr)
                status["code"] = 2
            window.close()

        def failed(title: str, message: str) -> None:
            print(f"labeler: error: {message.replace(chr(10), ' ')}", file=sys.stderr)
            status["code"] = 2
            window.close()

        def timed_out() -> None:
            print("labeler: error: no sample was shown in time", file=sys.stderr)
            status["code"] = 1
            window.close()

        window.reporter.reported.connect(failed)
        if project is None:
            QTimer.singleShot(0, shoot)
        else:
            target = window.firstItemShown
            if review:
                window.projectShown.connect(lambda _ov: QTimer.singleShot(0, window.show_review))
            target.connect(lambda: QTimer.singleShot(50, shoot))
            QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, timed_out)
    window.show()
    if project is not None:
        window.open_project(project)
        if review and not screenshot:
            window.projectShown.connect(lambda _ov: window.show_review())
    app.exec()
    return status["code"]
