"""The review table's search box: a substring (or, with "regex", a regular expression) of the
samples' text or id, run in SQL (see :mod:`labeler.store.search`).

Typing narrows the table after a short pause; Enter applies at once and hands the keyboard
back to the table, Escape hands it back without a change; ``/`` or Ctrl+F on the table comes
here. A pattern that is not a regular expression is named under the box and the table keeps
its rows.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from labeler.store.search import SearchError, SearchQuery

PAUSE_MS = 300  # typing pause after which the table follows the box


class SearchBox(QWidget):
    changed = Signal()  # the search to apply changed (query() tells which)
    leave = Signal()  # Enter or Escape: the keyboard goes back to the table

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(objectName="reviewSearch")
        self.edit.setPlaceholderText("Search text or id  ( / or Ctrl+F )")
        self.edit.setClearButtonEnabled(True)
        self.regex = QCheckBox("regex", objectName="reviewSearchRegex")
        self.regex.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.note = QLabel("", objectName="reviewSearchNote")
        self.note.setStyleSheet("color: palette(mid);")
        layout.addWidget(QLabel("Search"))
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.regex)
        layout.addWidget(self.note)
        self._timer = QTimer(self, singleShot=True, interval=PAUSE_MS)
        self._timer.timeout.connect(self._apply)
        self.edit.textEdited.connect(lambda _t: self._timer.start())
        self.edit.textChanged.connect(self._cleared)
        self.regex.toggled.connect(lambda _on: self._apply())
        self.edit.installEventFilter(self)
        self._applied: SearchQuery | None = None

    def focus(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def query(self) -> SearchQuery | None:
        """The search applied to the table (None: no search)."""
        return self._applied

    def set_search(self, text: str, regex: bool = False) -> None:
        """Search for ``text`` now (as if typed and Enter pressed)."""
        self.regex.blockSignals(True)
        self.regex.setChecked(regex)
        self.regex.blockSignals(False)
        self.edit.setText(text)
        self._apply()

    def show_error(self, message: str) -> None:
        self.note.setText(message)

    def _cleared(self, text: str) -> None:
        if not text.strip():  # the clear button, or everything deleted
            self._apply()

    def _apply(self) -> None:
        self._timer.stop()
        text = self.edit.text().strip()
        try:
            wanted = SearchQuery(text, regex=self.regex.isChecked()) if text else None
        except SearchError as exc:
            self.note.setText(str(exc))
            return
        self.note.setText("")
        if wanted != self._applied:
            self._applied = wanted
            self.changed.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._apply()
                self.leave.emit()
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.leave.emit()
                return True
        return False
