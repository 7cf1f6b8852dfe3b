"""Keyboard-first review: keys on the review table (installed as its event filter).

| key | does |
|---|---|
| Up/Down, ``j``/``k`` | next / previous sample |
| a label's key | relabel the selected sample (multi-label: toggle that label) |
| Enter | adjudicate: make the selected sample's current label(s) final |
| ``n`` / ``p`` | next / previous disagreement or suspected error |
| ``/`` | search the text and ids (Enter or Escape comes back to the table) |

Label keys win over the letter keys above when a project gives a label that key.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QTableView

KEY_HELP = (
    "Keys: ↑↓ or j/k move · label keys relabel · Enter adjudicates · n/p next/previous "
    "disagreement or suspect · / search · Ctrl+E export · Ctrl+Shift+E push"
)


class ReviewKeys(QObject):
    """Turns key presses on ``table`` into review actions (callbacks into the view)."""

    def __init__(
        self,
        table: QTableView,
        shortcuts: dict[str, str],  # key -> label name
        *,
        relabel: Callable[[str], None],
        adjudicate: Callable[[], None],
        jump: Callable[[int], None],
        find: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(table)
        self.table = table
        self.shortcuts = {k.lower(): name for k, name in shortcuts.items()}
        self._relabel = relabel
        self._adjudicate = adjudicate
        self._jump = jump
        self._find = find
        table.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.table and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            return self.handle(event)
        return False

    def handle(self, event: QKeyEvent) -> bool:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods not in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier):
            return False
        text = event.text().lower()
        if text and text in self.shortcuts:
            self._relabel(self.shortcuts[text])
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._adjudicate()
        elif text in ("j", "k"):
            self._move(1 if text == "j" else -1)
        elif text in ("n", "p"):
            self._jump(1 if text == "n" else -1)
        elif text == "/" and self._find is not None:
            self._find()
        else:
            return False
        return True

    def _move(self, step: int) -> None:
        model = self.table.model()
        current = self.table.currentIndex()
        row = (current.row() if current.isValid() else -1) + step
        if 0 <= row < model.rowCount():
            self.table.setCurrentIndex(model.index(row, 0))
