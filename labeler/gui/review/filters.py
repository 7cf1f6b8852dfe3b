"""The review table's filter bar: its widgets build a :class:`ReviewFilter`."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from labeler.store.database import utcnow
from labeler.store.review_table import ReviewFilter

ANY = "any"
PERIODS = (("any time", None), ("last 24 h", 1), ("last 7 days", 7), ("last 30 days", 30))


class FilterBar(QWidget):
    """Emits ``changed`` whenever a filter widget changes."""

    changed = Signal()

    def __init__(self, labels: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # two rows: one row of every filter made the review wider than a laptop screen
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        layout, second = QHBoxLayout(), QHBoxLayout()
        rows.addLayout(layout)
        rows.addLayout(second)
        self.label = QComboBox(objectName="filterLabel")
        self.label.addItems([ANY, *labels])
        self.annotator = QComboBox(objectName="filterAnnotator")
        self.annotator.addItem(ANY)
        self.period = QComboBox(objectName="filterPeriod")
        for text, days in PERIODS:
            self.period.addItem(text, days)
        self.min_conf = self._spin("filterMinConfidence", 0.0)
        self.max_conf = self._spin("filterMaxConfidence", 1.0)
        self.disagreement = QCheckBox("disagreement", objectName="filterDisagreement")
        self.suspected = QCheckBox("suspected error", objectName="filterSuspected")
        self.flagged = QCheckBox("flagged", objectName="filterFlagged")
        for text, widget in (
            ("Label", self.label),
            ("Annotator", self.annotator),
            ("Updated", self.period),
        ):
            layout.addWidget(QLabel(text))
            layout.addWidget(widget)
        layout.addStretch(1)
        for text, widget in (("Confidence", self.min_conf), ("to", self.max_conf)):
            second.addWidget(QLabel(text))
            second.addWidget(widget)
        for box in (self.disagreement, self.suspected, self.flagged):
            second.addWidget(box)
            box.toggled.connect(self.changed)
        second.addStretch(1)
        for combo in (self.label, self.annotator, self.period):
            combo.currentIndexChanged.connect(self.changed)

    def _spin(self, name: str, value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(objectName=name)
        spin.setRange(0.0, 1.0)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setValue(value)
        spin.valueChanged.connect(self.changed)
        return spin

    def set_annotators(self, names: list[str]) -> None:
        current = self.annotator.currentText()
        self.annotator.blockSignals(True)
        self.annotator.clear()
        self.annotator.addItems([ANY, *names])
        if current in names:
            self.annotator.setCurrentText(current)
        self.annotator.blockSignals(False)

    def current(self) -> ReviewFilter:
        days = self.period.currentData()
        lo, hi = self.min_conf.value(), self.max_conf.value()
        return ReviewFilter(
            label=None if self.label.currentText() == ANY else self.label.currentText(),
            annotator=None if self.annotator.currentText() == ANY else self.annotator.currentText(),
            since=None if days is None else utcnow() - timedelta(days=days),
            min_confidence=lo if lo > 0.0 else None,
            max_confidence=hi if hi < 1.0 else None,
            disagreement=True if self.disagreement.isChecked() else None,
            suspected=True if self.suspected.isChecked() else None,
            flagged=True if self.flagged.isChecked() else None,
        )
