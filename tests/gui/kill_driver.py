"""Runs the real app on a project and labels with key presses until it is killed.

Usage: ``python tests/gui/kill_driver.py PROJECT``. Prints ``saved SAMPLE_ID EVENT_ID`` once
the store has committed each label (what the annotator sees as saved). Used by the SIGKILL test.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from labeler.gui.app import ensure_app
from labeler.gui.main_window import MainWindow


def main(project: str) -> int:
    app = ensure_app()
    window = MainWindow()
    window.resize(1000, 700)
    window.show()
    keys = "123"
    state = {"n": 0}

    def press() -> None:
        view = window.annotate_view
        if view is None or view.controller.current is None:
            return
        QTest.keyClick(view, keys[state["n"] % len(keys)], Qt.KeyboardModifier.NoModifier)
        state["n"] += 1

    def saved(sample_id: int, event_id: int) -> None:
        print(f"saved {sample_id} {event_id}", flush=True)

    def on_project(_overview: object) -> None:
        assert window.controller is not None and window.annotate_view is not None
        window.controller.labelSaved.connect(saved)
        # an annotator presses once the sample is on screen (a key meant for the sample
        # before it is refused); a refused key is pressed again
        window.annotate_view.shownItem.connect(lambda item: QTimer.singleShot(200, press))
        window.controller.refused.connect(lambda _message: QTimer.singleShot(50, press))
        print("opened", flush=True)

    window.projectShown.connect(on_project)  # before the first sample is shown
    window.open_project(project)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
