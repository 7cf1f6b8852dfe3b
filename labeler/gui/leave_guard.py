"""Asking before a close would lose a label the store has not saved.

A label whose save failed (the database server away, an SQLite project's disk full) is kept
by the annotate session and saved when the database answers again
(:mod:`labeler.gui.label_commits`). Closing the window, closing the project or opening
another one would drop it; :func:`confirm_leave` asks first, in a window-modal box opened
with ``open()`` (the event loop keeps running, so the label may still be saved meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

KEEP_OPEN = "Keep the project open"
LOSE_IT = "Close and lose the label"


def confirm_leave(
    parent: QWidget, unsaved: str | None, then: Callable[[], None]
) -> QMessageBox | None:
    """Run ``then`` now when nothing is ``unsaved`` (None); otherwise ask, and run it only
    if the user chooses to lose the label. Returns the box while it asks."""
    if unsaved is None:
        then()
        return None
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Label not saved",
        f"{unsaved}. If the project stays open, the label is saved as soon as the database "
        "answers again; closing now loses it.",
        QMessageBox.StandardButton.NoButton,
        parent,
    )
    keep = box.addButton(KEEP_OPEN, QMessageBox.ButtonRole.RejectRole)
    lose = box.addButton(LOSE_IT, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)

    def answered() -> None:
        if box.clickedButton() is lose:
            then()

    box.finished.connect(answered)
    box.finished.connect(box.deleteLater)
    box.open()
    return box
