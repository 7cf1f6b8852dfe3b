"""The annotators tab: per-annotator statistics (labels, labels per hour, median time per
label, agreement with adjudicated labels) and how far the overlap has come."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QVBoxLayout, QWidget

from labeler.gui.review.stats_panels import fill_table, make_table
from labeler.review.adjudication import TeamStats

COLUMNS = [
    "annotator",
    "labels",
    "samples",
    "skips",
    "hours",
    "labels / hour",
    "median s / label",
    "adjudicated",
    "agrees with adjudication",
]


def _fmt(value: float, digits: int = 1, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.0%}" if percent else f"{value:.{digits}f}"


def overlap_text(stats: TeamStats) -> str:
    p = stats.overlap
    if not p.settings.active:
        return (
            "No overlap set: each sample goes to one annotator, so agreement is measured only "
            "where samples were labeled twice by chance (set Overlap in Settings)."
        )
    return (
        f"Overlap: {p.settings.describe()}: <b>{p.complete}</b> of {p.planned} overlap samples "
        f"complete, {p.started - p.complete} waiting for more annotators."
    )


class AnnotatorStatsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("annotatorStatsPanel")
        layout = QVBoxLayout(self)
        self.headline = QLabel("Loading…", objectName="annotatorStatsHeadline")
        self.headline.setWordWrap(True)
        layout.addWidget(self.headline)
        self.table = make_table(COLUMNS, "annotatorStatsTable")
        header = self.table.horizontalHeader()
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table, 1)
        note = QLabel(
            "Hours: time the annotator looked at the samples they labeled or skipped. "
            "Adjudicated: their samples a reviewer settled (mostly disagreements, so agreement "
            "there is lower than overall); agrees with adjudication: the share where the "
            "reviewer kept their label."
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        layout.addWidget(note)

    def show_stats(self, stats: TeamStats) -> None:
        self.headline.setText(overlap_text(stats))
        fill_table(
            self.table,
            [
                (
                    s.annotator,
                    s.labels,
                    s.samples,
                    s.skips,
                    _fmt(s.hours, 2),
                    _fmt(s.labels_per_hour, 0),
                    _fmt(s.median_s, 1),
                    s.adjudicated,
                    _fmt(s.agreement, percent=True),
                )
                for s in stats.annotators
            ],
        )
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row in range(self.table.rowCount()):
            for column in range(1, len(COLUMNS)):
                item = self.table.item(row, column)
                if item is not None:
                    item.setTextAlignment(right)
