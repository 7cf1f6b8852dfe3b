"""Screenshots of search, the history panel and keyboard-first review, made through the real
window with real key presses, for ``docs/screenshots/``:

* ``annotate-find.png``: "Find samples" (``/``) asked for a word; the dialog is grabbed as
  ``annotate-find-dialog.png``, then the window with the first match on screen ("You searched
  for it") and the status line naming how many come next;
* ``annotate-history.png``: the history panel after some decisions, one revisited with
  Ctrl+H, Down, Enter (the note above the label keys names the decision);
* ``annotate-undo.png``: after Ctrl+Z, the note names the label taken back;
* ``review-keyboard.png``: review (Ctrl+2) with the keyboard on the table, moved with ``j``;
* ``review-search.png``: ``/`` on the table, a word typed and Enter: the table narrowed by
  the SQL search, the keyboard back on the table.

The project is the text demo (:func:`labeler.data.demo.create_demo`); labels are given with
the label keys, following the demo's ``truth.csv``. No background retraining (the shots do
not depend on a model).

    QT_QPA_PLATFORM=offscreen python benchmarks/annotate_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIND = "deprecated"
SEARCH = "array"


def settle(app, predicate, timeout: float = 30.0, extra: float = 0.3) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            import traceback

            where = traceback.extract_stack(limit=2)[0].lineno
            raise SystemExit(f"the window did not reach the expected state in time (line {where})")
        app.processEvents()
        time.sleep(0.01)
    end = time.monotonic() + extra
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="annotate-shots-"))
    os.environ["LABELER_DATA_DIR"] = str(work / "data")

    import pandas as pd
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from labeler.data.demo import create_demo
    from labeler.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    folder = work / "text-demo"
    create_demo("text", folder).close()
    truth = pd.read_csv(folder / "truth.csv")
    answer = dict(zip(truth["id"].astype(str), truth["label"].astype(str), strict=True))

    window = MainWindow(retrainer_factory=lambda *a: None)
    window.resize(1280, 820)
    window.show()
    window.open_project(str(folder))
    settle(app, lambda: window.annotate_view is not None and window.annotate_view.painted)
    view = window.annotate_view
    c = view.controller
    keys = {lab.name: lab.shortcut for lab in c.overview.info.labels}

    def painted() -> bool:
        return c.current is None or view.painted == c.current.sample_id

    def label_current() -> None:
        QTest.keyClick(view, keys[answer[c.current.sample.external_id]])
        settle(app, lambda: not c.busy and painted(), extra=0.05)

    for _ in range(6):
        label_current()

    # find samples: "/" opens the dialog; the matches come next
    QTest.keyClick(view, "/")
    settle(app, lambda: view.find_dialog is not None and view.find_dialog.isVisible())
    dialog = view.find_dialog
    QTest.keyClicks(dialog.query, FIND)
    settle(app, lambda: True, extra=0.2)
    dialog.grab().save(str(out / "annotate-find-dialog.png"))
    done: list[object] = []
    view.finder.done.connect(lambda: done.append(1))
    QTest.keyClick(dialog.query, Qt.Key.Key_Return)
    settle(app, lambda: bool(done))
    label_current()  # the sample that was on screen; the first match comes next
    settle(app, lambda: "searched" in view.panel.why.text())
    window.grab().save(str(out / "annotate-find.png"))
    label_current()
    label_current()

    # history: Ctrl+H, Down, Enter shows an earlier decision again
    settle(app, lambda: view.history_panel.list.count() >= 8)
    QTest.keyClick(view, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    lst = view.history_panel.list
    QTest.keyClick(lst, Qt.Key.Key_Down)
    QTest.keyClick(lst, Qt.Key.Key_Down)
    QTest.keyClick(lst, Qt.Key.Key_Return)
    settle(app, lambda: view.decision_note.isVisible() and painted())
    window.grab().save(str(out / "annotate-history.png"))
    label_current()  # keeps the decision (the same label again)

    # undo: the note names the label taken back
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle(app, lambda: "Undone" in view.decision_note.text() and painted())
    window.grab().save(str(out / "annotate-undo.png"))
    label_current()

    # review, from the keyboard (offscreen, a closed dialog leaves no window active, and a
    # menu shortcut needs an active window)
    window.activateWindow()
    settle(app, lambda: QApplication.activeWindow() is window)
    QTest.keyClick(view, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    settle(
        app,
        lambda: window.review_view is not None and window.review_view.model.rowCount() > 5,
        timeout=120,
    )
    rv = window.review_view
    settle(app, lambda: rv.summary is not None, timeout=120)
    for key in "jjj":
        QTest.keyClick(rv.table, key)
    settle(app, lambda: rv.selected_id() is not None and rv._detail is not None)
    window.grab().save(str(out / "review-keyboard.png"))

    QTest.keyClick(rv.table, "/")
    QTest.keyClicks(rv.search.edit, SEARCH)
    loaded: list[int] = []
    rv.idsLoaded.connect(loaded.append)
    QTest.keyClick(rv.search.edit, Qt.Key.Key_Return)
    settle(app, lambda: bool(loaded))
    QTest.keyClick(rv.table, "j")
    settle(app, lambda: rv._detail is not None and rv.table.hasFocus())
    window.grab().save(str(out / "review-search.png"))
    print(f"{loaded[0]} labeled samples match {SEARCH!r}; screenshots in {out}")
    window.close()


if __name__ == "__main__":
    main()
