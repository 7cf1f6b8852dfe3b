"""Review statistics widgets: agreement, suspected errors, plots, audit queue, run history.
Each shows data computed by ``labeler.review`` (handed over by the review view)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from labeler.review.service import ReviewSummary
from labeler.store.review_audit import AuditRow
from labeler.store.review_suspects import SuspectRow


def fill_table(table: QTableWidget, rows: Sequence[Sequence[object]]) -> None:
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            item = QTableWidgetItem("" if value is None else str(value))
            if isinstance(value, int | float) and not isinstance(value, bool):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(i, j, item)


def make_table(headers: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headers), objectName=name)
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    return table


def _num(value: float) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.3f}"
    )


class AgreementPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.headline = QLabel("", objectName="agreementHeadline")
        self.headline.setWordWrap(True)
        layout.addWidget(self.headline)
        self.pairs = make_table(
            ["annotator", "annotator", "shared samples", "raw agreement", "Cohen's kappa"],
            "agreementPairs",
        )
        layout.addWidget(self.pairs)

    def show_summary(self, summary: ReviewSummary) -> None:
        a = summary.agreement
        if a.items == 0:
            self.headline.setText(
                "No sample has labels from two or more annotators yet: agreement needs overlap."
            )
        else:
            self.headline.setText(
                f"Krippendorff's alpha (nominal, all annotators): <b>{_num(a.alpha)}</b> over "
                f"{a.items} samples labeled by several annotators; "
                f"{a.disagreements} of them disagree (filter the table by 'disagreement')."
            )
        fill_table(
            self.pairs,
            [
                (r.annotator_a, r.annotator_b, int(r.items), _num(r.agreement), _num(r.kappa))
                for r in a.pairs.itertuples()
            ],
        )


class SuspectsPanel(QWidget):
    sampleActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.headline = QLabel("", objectName="suspectsHeadline")
        self.headline.setWordWrap(True)
        layout.addWidget(self.headline)
        self.table = make_table(
            ["rank", "ID", "given", "model says", "p(given)", "p(model)", "gap"],
            "suspectsTable",
        )
        layout.addWidget(self.table)
        self._ids: list[int] = []
        self.table.cellDoubleClicked.connect(self._activated)
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.cellActivated.connect(self._activated)  # Enter

    def show_suspects(self, rows: Sequence[SuspectRow], evaluated: int, note: str = "") -> None:
        """``note``: why no suspects were reported (the weak-model guard), if so."""
        self._ids = [r.sample_id for r in rows]
        self.headline.setText(
            (note[:1].upper() + note[1:] + ".")
            if note and evaluated
            else f"{len(rows)} suspected label errors among {evaluated} samples with out-of-fold "
            "predictions (confident learning), the least likely given label first. "
            "Select one to inspect it."
            if evaluated
            else "No out-of-fold predictions yet: train a model to find suspected errors."
        )
        fill_table(
            self.table,
            [
                (
                    i + 1,
                    r.external_id,
                    ", ".join(r.given),
                    ", ".join(r.suggested),
                    f"{r.p_given:.2f}",
                    f"{r.p_suggested:.2f}",
                    f"{r.p_suggested - r.p_given:.2f}",
                )  # fmt: skip
                for i, r in enumerate(rows)
            ],
        )

    def _activated(self, row: int, _column: int) -> None:
        if 0 <= row < len(self._ids):
            self.sampleActivated.emit(self._ids[row])

    def _selected(self) -> None:
        """A click or an arrow key selects a row and shows its sample; entering the tab only
        sets a current row without selecting it, so the sample on show stays."""
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) == 1:
            self._activated(rows.pop(), 0)


class PlotsPanel(QWidget):
    saveRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget(objectName="plotTabs")
        layout.addWidget(self.tabs)
        row = QHBoxLayout()
        self.note = QLabel("")
        self.save_button = QPushButton("Save plots as PNG…", objectName="savePlotsButton")
        self.save_button.clicked.connect(self.saveRequested)
        row.addWidget(self.note, 1)
        row.addWidget(self.save_button)
        layout.addLayout(row)
        self.images: dict[str, QLabel] = {}

    def show_pngs(self, pngs: dict[str, bytes]) -> None:
        """Show plots already rendered to PNG (by the statistics worker, off this thread)."""
        current = self.tabs.currentIndex()
        self.tabs.clear()
        self.images.clear()
        for name, png in pngs.items():
            label = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
            pixmap = QPixmap()
            pixmap.loadFromData(png, "PNG")
            label.setPixmap(pixmap)
            scroll = QScrollArea()
            scroll.setWidget(label)
            scroll.setWidgetResizable(True)
            self.tabs.addTab(scroll, name.replace("-", " "))
            self.images[name] = label
        if current >= 0:
            self.tabs.setCurrentIndex(current)


class AuditPanel(QWidget):
    sampleActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        note = QLabel(
            "Samples the query strategy keeps passing over: skipped ones, and unlabeled ones the "
            "model is most sure about, each predicted class in turn (uncertainty sampling "
            "never shows them). Spot-check them to see what the ranking hides."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.table = make_table(
            ["ID", "why", "model says", "confidence", "queue rank", "skips"], "auditTable"
        )
        layout.addWidget(self.table)
        self._ids: list[int] = []
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.cellActivated.connect(self._activated)  # Enter

    def show_rows(self, rows: Sequence[AuditRow]) -> None:
        self._ids = [r.sample_id for r in rows]
        fill_table(
            self.table,
            [
                (
                    r.external_id,
                    r.reason,
                    ", ".join(r.predicted or ()),
                    "" if r.confidence is None else f"{r.confidence:.2f}",
                    "not queued" if r.queue_rank is None else r.queue_rank + 1,
                    r.skips,
                )  # fmt: skip
                for r in rows
            ],
        )

    def _activated(self, row: int, *_: object) -> None:
        if 0 <= row < len(self._ids):
            self.sampleActivated.emit(self._ids[row])

    def _selected(self) -> None:  # see SuspectsPanel._selected
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) == 1:
            self._activated(rows.pop())


class RunsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.table = make_table(
            ["run", "model", "status", "started (UTC)", "labels", "strategy", "score", "seconds",
             "MLflow run", "error"],
            "runsTable",
        )  # fmt: skip
        for column in (3, 8):  # started, MLflow run id: shown whole
            self.table.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.ResizeToContents
            )
        layout.addWidget(self.table)

    def show_summary(self, summary: ReviewSummary) -> None:
        h = summary.history
        fill_table(
            self.table,
            [
                (
                    int(r.run),
                    "" if _missing(r.model_version) else f"v{int(r.model_version)}",
                    _text(r.status),
                    r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                    int(r.labels),
                    _text(r.strategy),
                    "" if _missing(r.score) else f"{_text(r.metric)} {r.score:.3f}".strip(),
                    "" if _missing(r.seconds) else f"{r.seconds:.1f}",
                    _text(r.mlflow_run_id),
                    _text(r.error),
                )
                for r in h.itertuples()
            ],
        )
        header = self.table.horizontalHeader()
        for column in range(self.table.columnCount() - 1):  # the error takes the rest
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)


def _missing(value: object) -> bool:
    """None or NaN (pandas stores a missing value of a column as NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text(value: object) -> str:
    return "" if _missing(value) else str(value)
