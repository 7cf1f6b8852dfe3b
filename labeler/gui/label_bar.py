"""The label buttons under the sample, each showing its key.

Three modes, from the project's task type:

* single-label: one button per label; its key (1-9, then letters) labels and moves on;
* multi-label: the keys toggle labels; Enter confirms the set;
* binary: "Is this <first label>?" Accept (first label) or Reject (second label), with the
  labels' keys or Y / N.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QPushButton, QSizePolicy, QWidget

from labeler.store import ProjectInfo

PER_ROW = 5


def _button(text: str, checkable: bool = False) -> QPushButton:
    b = QPushButton(text)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.setCheckable(checkable)
    b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    b.setMinimumHeight(44)
    return b


class LabelBar(QWidget):
    labelChosen = Signal(str)  # single-label and binary: the label to commit
    confirmRequested = Signal()  # multi-label: commit the toggled set

    def __init__(self, info: ProjectInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("labelBar")
        self.mode = (
            "multi"
            if info.task_type == "multi-label"
            else "binary"
            if info.task_type == "binary"
            else "single"
        )
        self.names = info.label_names
        self.keys = {lab.name: (lab.shortcut or "").lower() for lab in info.labels}
        self.buttons: dict[str, QPushButton] = {}
        self.confirm_button: QPushButton | None = None
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(8)
        if self.mode == "binary":
            accept, reject = self.names
            self.buttons[accept] = _button(
                f"✓  Accept: {accept}   [{self._keys_text(accept, 'Y')}]"
            )
            self.buttons[reject] = _button(
                f"✗  Reject: {reject}   [{self._keys_text(reject, 'N')}]"
            )
            self.buttons[accept].setObjectName("acceptButton")
            self.buttons[reject].setObjectName("rejectButton")
            grid.addWidget(self.buttons[accept], 0, 0)
            grid.addWidget(self.buttons[reject], 0, 1)
        else:
            for i, name in enumerate(self.names):
                key = self.keys[name].upper()
                text = name if not key or key == name.upper() else f"{key}   {name}"
                b = _button(text, checkable=self.mode == "multi")
                self.buttons[name] = b
                grid.addWidget(b, i // PER_ROW, i % PER_ROW)
            if self.mode == "multi":
                self.confirm_button = _button("Confirm   [Enter]")
                self.confirm_button.setObjectName("confirmButton")
                self.confirm_button.clicked.connect(self.confirmRequested)
                rows = (len(self.names) + PER_ROW - 1) // PER_ROW
                grid.addWidget(self.confirm_button, rows, 0, 1, min(PER_ROW, len(self.names)))
        if self.mode != "multi":  # multi-label buttons toggle themselves (checkable)
            for name, b in self.buttons.items():
                b.clicked.connect(lambda _checked=False, n=name: self.labelChosen.emit(n))
        self._suggested: tuple[str, ...] = ()

    def _keys_text(self, name: str, extra: str) -> str:
        key = self.keys.get(name, "").upper()
        return f"{key} / {extra}" if key and key != extra else extra

    def label_for_key(self, text: str) -> str | None:
        """The label a typed character stands for (shortcuts; Y/N in binary mode)."""
        text = text.lower()
        if not text:
            return None
        for name, key in self.keys.items():
            if key and key == text:
                return name
        if self.mode == "binary":
            used = set(self.keys.values())
            if text == "y" and "y" not in used:
                return self.names[0]
            if text == "n" and "n" not in used:
                return self.names[1]
        return None

    # multi-label toggles -------------------------------------------------------------

    def toggle(self, name: str) -> None:
        b = self.buttons[name]
        b.setChecked(not b.isChecked())

    def toggled(self) -> list[str]:
        return [n for n in self.names if self.buttons[n].isChecked()]

    def reset(self, preset: tuple[str, ...] = ()) -> None:
        """Clear the toggles (multi-label), optionally pre-setting some."""
        if self.mode == "multi":
            for n, b in self.buttons.items():
                b.setChecked(n in preset)

    def set_suggestion(self, labels: tuple[str, ...]) -> None:
        """Mark the model's suggested label(s)."""
        if labels == self._suggested:
            return
        self._suggested = labels
        for n, b in self.buttons.items():
            b.setProperty("suggested", n in labels)
            b.style().unpolish(b)
            b.style().polish(b)
