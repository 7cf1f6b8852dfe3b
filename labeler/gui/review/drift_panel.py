"""Review mode's Drift tab: each import batch's newest drift check (recorded by ``labeler
import --json``, ``labeler info`` and every retrain; see :mod:`labeler.learning.batch_drift`)
as a bar per batch and a table.

The chart is painted with ``QPainter`` (a few rectangles: nothing to render off the GUI
thread). Bars are the check's score against its alarm levels: a PSI (0.1 moderate, 0.25
strong) or a domain classifier's AUC (0.65, 0.75), so one project's bars share one scale;
each bar is labeled with its score, and a bar beyond the top of the scale is cut there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QHeaderView, QLabel, QSizePolicy, QVBoxLayout, QWidget

from labeler.gui.review.stats_panels import fill_table, make_table
from labeler.learning.drift import AUC_MODERATE, AUC_STRONG, PSI_MODERATE, PSI_STRONG
from labeler.store.drift_records import DriftRecord

LEVEL_COLOURS = {
    "none": QColor("#4c9a5b"),
    "moderate": QColor("#e0a030"),
    "strong": QColor("#c8453a"),
}
MUTED = QColor("#9a9a9a")
SCALE_TOP = 3.0  # severity at the top of the chart (1: moderate, 2: strong)


def severity(record: DriftRecord) -> float | None:
    """The check's score on a common scale: 1 where it alarms as moderate, 2 where as strong.

    The alarm levels are the check's own (recorded with it): the rule-of-thumb levels, or its
    sampling floor when that is higher (few rows), so a bar crosses a line exactly when the
    check alarmed."""
    if record.score is None:
        return None
    if record.method == "psi":
        low, high, base = PSI_MODERATE, PSI_STRONG, 0.0
    elif record.method == "domain-auc":
        low, high, base = AUC_MODERATE, AUC_STRONG, 0.5
    else:
        return None
    low = float(record.details.get("moderate_at") or low)
    high = float(record.details.get("strong_at") or high)
    score = float(record.score)
    if score < low:
        return max(0.0, (score - base) / (low - base))
    if high <= low:  # the sampling floor is above both levels: an alarm is strong at once
        return 2.0 + (score - high) / max(high - base, 1e-9)
    if score < high:
        return 1.0 + (score - low) / (high - low)
    return 2.0 + (score - high) / (high - low)


class DriftChart(QWidget):
    """One bar per import batch, coloured by its drift level, with the two alarm levels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("driftChart")
        self.setMinimumHeight(180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.records: list[DriftRecord] = []

    def set_records(self, records: Sequence[DriftRecord]) -> None:
        self.records = list(records)
        self.update()

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().windowText().color()
        left, right, top, bottom = 74, 12, 22, 34
        w = max(1, self.width() - left - right)
        h = max(1, self.height() - top - bottom)
        top_value = SCALE_TOP

        def y_of(v: float) -> float:
            return top + h - h * min(v, top_value) / top_value

        p.setPen(QPen(text, 1))
        p.drawLine(left, top + h, left + w, top + h)
        for value, name in ((1.0, "moderate"), (2.0, "strong")):
            pen = QPen(LEVEL_COLOURS[name], 1, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(left, int(y_of(value)), left + w, int(y_of(value)))
            p.drawText(QRectF(0, y_of(value) - 8, left - 4, 16), Qt.AlignmentFlag.AlignRight, name)
        if not self.records:
            p.setPen(text)
            p.drawText(QRectF(left, top, w, h), Qt.AlignmentFlag.AlignCenter, "No import batch yet")
            return
        slot = w / len(self.records)
        bar = max(2.0, min(48.0, slot * 0.6))
        for i, record in enumerate(self.records):
            x = left + slot * i + (slot - bar) / 2
            value = severity(record)
            colour = LEVEL_COLOURS.get(record.level, MUTED)
            if value is None:  # unchecked / nothing to compare with: a stub
                p.setPen(QPen(MUTED, 1, Qt.PenStyle.DotLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(QRectF(x, y_of(0.25), bar, y_of(0.0) - y_of(0.25)))
            else:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(colour)
                p.drawRect(QRectF(x, y_of(value), bar, y_of(0.0) - y_of(value)))
                p.setPen(text)
                short = "PSI" if record.method == "psi" else "AUC"
                p.drawText(
                    QRectF(left + slot * i, y_of(value) - 18, slot, 16),
                    Qt.AlignmentFlag.AlignHCenter,
                    f"{short} {record.score:.2f}",
                )
            p.setPen(text)
            p.drawText(
                QRectF(left + slot * i, top + h + 4, slot, 16),
                Qt.AlignmentFlag.AlignHCenter,
                f"#{record.batch_id}",
            )
        p.drawText(QRectF(left, top + h + 18, w, 16), Qt.AlignmentFlag.AlignHCenter, "import batch")


class DriftPanel(QWidget):
    """Headline, chart and table of drift per import batch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.headline = QLabel("", objectName="driftHeadline")
        self.headline.setWordWrap(True)
        layout.addWidget(self.headline)
        self.chart = DriftChart()
        layout.addWidget(self.chart)
        self.table = make_table(
            ["import", "source", "rows", "imported (UTC)", "drift", "score", "compared with",
             "checked (UTC)"],
            "driftTable",
        )  # fmt: skip
        header = self.table.horizontalHeader()
        for column in (0, 2, 3, 5, 6, 7):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(1, 200)
        layout.addWidget(self.table, 1)
        self.records: list[DriftRecord] = []

    def show_records(self, records: Sequence[DriftRecord]) -> None:
        self.records = list(records)
        self.chart.set_records(self.records)
        alarms = [r for r in self.records if r.level in ("moderate", "strong")]
        if not self.records:
            self.headline.setText("No import yet.")
        elif alarms:
            worst = max(alarms, key=lambda r: (r.level == "strong", severity(r) or 0.0))
            self.headline.setText(
                f"<b>{len(alarms)} of {len(self.records)} import batches look unlike the "
                f"labeled samples of earlier imports</b>; the strongest: import "
                f"#{worst.batch_id}, {worst.line.removeprefix('drift: ')}. A model trained "
                "before it may do worse on it: label some of its samples."
            )
        else:
            self.headline.setText(
                f"No drift alarm over {len(self.records)} import batches: each new batch looks "
                "like the labeled samples of earlier imports, in the model's feature space "
                "(checked at import with --json, by 'labeler info' and after each retrain)."
            )
        fill_table(
            self.table,
            [
                (
                    f"#{r.batch_id}",
                    Path(r.source).name or r.source,
                    r.rows,
                    r.imported_at.strftime("%Y-%m-%d %H:%M"),
                    r.line.removeprefix("drift: "),
                    "" if r.score is None else f"{r.score:.3f}",
                    f"{r.n_reference} labeled" if r.checked_at and r.n_reference else "",
                    "" if r.checked_at is None else r.checked_at.strftime("%Y-%m-%d %H:%M"),
                )  # fmt: skip
                for r in self.records
            ],
        )
        for row, r in enumerate(self.records):
            self.table.item(row, 1).setToolTip(r.source)
            self.table.item(row, 4).setToolTip(r.line)
