"""The detail panel: the selected sample, its audit trail, the model's opinion, and the
relabel / adjudicate controls. It shows what it is given and emits what the user asks for;
the review view runs the store calls."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labeler.gui.sample_views import SampleDisplay
from labeler.gui.wrap_label import WrapLabel
from labeler.store import LabelEvent, Sample
from labeler.store.models import Prediction
from labeler.store.review_suspects import SuspectRow


@dataclass(frozen=True)
class SampleDetail:
    """Everything the panel shows for one sample (fetched off the GUI thread)."""

    sample: Sample
    events: list[LabelEvent]
    labels: tuple[str, ...] | None
    prediction: Prediction | None
    suspect: SuspectRow | None


class DetailPanel(QWidget):
    relabelRequested = Signal(int, list, str)  # sample id, labels, comment
    adjudicateRequested = Signal(int, list, str)

    def __init__(self, modality: str, labels: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sample_id: int | None = None
        layout = QVBoxLayout(self)
        self.title = QLabel("Select a sample", objectName="detailTitle")
        self.title.setStyleSheet("font-weight: 600; font-size: 12pt;")
        layout.addWidget(self.title)
        self.display = SampleDisplay()
        self.display.modality = modality
        self.display.setMinimumHeight(140)
        layout.addWidget(self.display, 2)

        opinion = QGroupBox("Model's opinion")
        self.opinion = WrapLabel("no prediction")
        self.opinion.setObjectName("detailOpinion")
        QVBoxLayout(opinion).addWidget(self.opinion)
        layout.addWidget(opinion)

        trail = QGroupBox("Audit trail (every label event)")
        self.events = QTableWidget(0, 5, objectName="detailEvents")
        self.events.setHorizontalHeaderLabels(["time (UTC)", "who", "action", "labels", "note"])
        header = self.events.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.events.verticalHeader().setVisible(False)
        self.events.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        QVBoxLayout(trail).addWidget(self.events)
        layout.addWidget(trail, 2)

        edit = QGroupBox("Correct the label")
        form = QFormLayout(edit)
        self.label_choice = QComboBox(objectName="detailLabel")
        self.label_choice.addItems(labels)
        self.comment = QLineEdit(objectName="detailComment")
        self.comment.setPlaceholderText("why (kept in the audit trail)")
        buttons = QHBoxLayout()
        self.relabel_button = QPushButton("Relabel  (label key)", objectName="relabelButton")
        self.relabel_button.setToolTip(
            "In the table, a label's key relabels the selected sample with that label"
        )
        self.adjudicate_button = QPushButton("Adjudicate  (Enter)", objectName="adjudicateButton")
        self.adjudicate_button.setToolTip(
            "Set the final label, overriding every annotator (Enter in the table: the "
            "sample's current label)"
        )
        buttons.addWidget(self.relabel_button)
        buttons.addWidget(self.adjudicate_button)
        form.addRow("Label", self.label_choice)
        form.addRow("Comment", self.comment)
        form.addRow(buttons)
        layout.addWidget(edit)
        self.relabel_button.clicked.connect(lambda: self._emit(self.relabelRequested))
        self.adjudicate_button.clicked.connect(lambda: self._emit(self.adjudicateRequested))
        self.set_enabled(False)

    def set_enabled(self, enabled: bool) -> None:
        for w in (self.relabel_button, self.adjudicate_button, self.label_choice, self.comment):
            w.setEnabled(enabled)

    def _emit(self, signal: Signal) -> None:
        if self.sample_id is None:
            return
        signal.emit(self.sample_id, [self.label_choice.currentText()], self.comment.text().strip())
        self.comment.clear()

    def show_detail(self, detail: SampleDetail) -> None:
        self.sample_id = detail.sample.id
        current = ", ".join(detail.labels) if detail.labels else "unlabeled"
        self.title.setText(f"{detail.sample.external_id}  ·  {current}")
        self.display.show_sample(detail.sample)
        if detail.labels and detail.labels[0] in [
            self.label_choice.itemText(i) for i in range(self.label_choice.count())
        ]:
            self.label_choice.setCurrentText(detail.labels[0])
        self.events.setRowCount(len(detail.events))
        for i, ev in enumerate(detail.events):
            note = ev.comment or ""
            if ev.target_event_id is not None:
                note = f"reverts #{ev.target_event_id}" + (f"; {note}" if note else "")
            if ev.model_version is not None:
                note += f"{'; ' if note else ''}queued by v{ev.model_version} {ev.strategy or ''}"
            values = [
                ev.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                ev.annotator,
                ev.action,
                ", ".join(ev.labels or ()),
                note.strip(),
            ]
            for j, value in enumerate(values):
                self.events.setItem(i, j, QTableWidgetItem(value))
        self.opinion.setText(opinion_text(detail))
        self.set_enabled(True)

    def clear(self) -> None:
        self.sample_id = None
        self.title.setText("Select a sample")
        self.display.show_message("Select a row to see the sample")
        self.events.setRowCount(0)
        self.opinion.setText("")
        self.set_enabled(False)


def opinion_text(detail: SampleDetail) -> str:
    p = detail.prediction
    if p is None:
        return "No prediction for this sample yet (train a model)."
    kind = "out-of-fold" if p.out_of_fold else "in-sample"
    lines = [f"Model v{p.model_version} ({kind}) predicts <b>{', '.join(p.labels)}</b>"
             f" with confidence {p.confidence:.2f}."]  # fmt: skip
    if p.probabilities:
        ranked = sorted(p.probabilities.items(), key=lambda kv: -kv[1])
        lines.append(" · ".join(f"{k}: {v:.2f}" for k, v in ranked))
    s = detail.suspect
    if s is not None:
        lines.append(
            f"<span style='color:#b03a2e'>Suspected label error: labeled "
            f"{', '.join(s.given)} (p={s.p_given:.2f}) but looks like {', '.join(s.suggested)} "
            f"(p={s.p_suggested:.2f}).</span>"
        )
    return "<br>".join(lines)
