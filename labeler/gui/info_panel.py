"""The side panel of the annotate view: the model's suggestion, why this sample was chosen,
progress, and the model's status. It only displays what it is given.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from labeler.gui.session import Counts, Item, ModelStatus
from labeler.gui.wrap_label import WrapLabel
from labeler.learning.retrain_phases import RetrainProgress

STARTING = "Retraining: starting…"
SCORE_NAMES = {"macro_f1": "CV macro-F1", "accuracy": "CV accuracy"}


def _label(object_name: str) -> QLabel:
    w = WrapLabel()
    w.setObjectName(object_name)
    return w


def suggestion_text(item: Item | None) -> str:
    if item is None or item.prediction is None:
        return "No suggestion yet"
    p = item.prediction
    names = ", ".join(p.labels) if p.labels else "(none)"
    return f"{names}  ({p.confidence:.0%} confident, model v{p.model_version})"


def why_text(item: Item | None) -> str:
    if item is None:
        return ""
    prov = item.provenance
    if prov.strategy is None:
        return "Shown in import order: there is no ranked queue yet."
    if prov.strategy == "search":
        n = prov.score
        matches = f": {n:g} match{'es' if n != 1 else ''}" if n is not None else ""
        return f"You searched for it (Find samples, /){matches}."
    if prov.strategy == "history":
        return "You chose it from the history (Ctrl+H) to change its decision."
    parts = [f"Strategy: {prov.strategy}"]
    if prov.score is not None:
        parts.append(f"Score: {prov.score:.3f}")
    if item.rank is not None:
        parts.append(f"Rank: {item.rank + 1}")
    parts.append(f"Model: v{prov.model_version}" if prov.model_version else "Model: none (seed)")
    return "\n".join(parts)


def progress_text(counts: Counts, labels_per_minute: float, session_labels: int) -> str:
    lines = [f"This session: {session_labels} labels, {labels_per_minute:.1f} per minute"]
    lines += [f"{name}: {n}" for name, n in counts.per_class.items()]
    return "\n".join(lines)


def model_text(
    model: ModelStatus | None, labeled: int, cold_start: bool = False, seeds: bool = False
) -> str:
    """``seeds``: the sample on screen came from the diverse seed queue (not import order)."""
    if model is None:
        return ""
    if model.version is None and cold_start:
        meanwhile = (
            "Meanwhile diverse seed samples are shown."
            if seeds
            else "Meanwhile samples come in import order until the seed samples are ready."
        )
        return f"No model yet: it trains once two classes have labels.\n{meanwhile}"
    if model.version is None:
        text = "No model yet"
    else:
        name = SCORE_NAMES.get(model.score_name or "", model.score_name)
        score = f"{name} {model.score:.3f}" if model.score is not None else "no CV score yet"
        behind = model.staleness(labeled)
        by = f" by {model.trained_by}" if model.trained_by else ""
        text = (
            f"Version {model.version}: {score}\n"
            f"Trained{by} on {model.trained_on} labels, {behind} behind"
        )
        chosen = chosen_text(model)
        if chosen:
            text += f"\n{chosen}"
    if model.last_error:
        text += f"\nLast retrain failed: {model.last_error.splitlines()[0]}"
    return text


def chosen_text(model: ModelStatus) -> str:
    """The parameters the last retrain chose and how well its probabilities are calibrated."""
    parts = [f"{k}={v:g}" for k, v in model.chosen.items() if isinstance(v, int | float)]
    if model.chosen.get("class_weight"):
        parts.append(f"{model.chosen['class_weight']} class weights")
    line = f"{model.model or 'model'}: {', '.join(parts)}" if parts else ""
    calib = []
    if model.brier is not None:
        calib.append(f"Brier {model.brier:.3f}")
    if model.temperature is not None:
        calib.append(f"calibrated T={model.temperature:.2f}")
    if calib:
        line = f"{line}\n{', '.join(calib)}" if line else ", ".join(calib)
    return line


class InfoPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("infoPanel")
        self.setMinimumWidth(260)
        self.setMaximumWidth(380)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        self.sample_id = _label("sampleId")
        self.flag = _label("flagNote")
        self.flag.setVisible(False)
        self.suggestion = _label("suggestion")
        self.why = _label("why")
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress = _label("progress")
        self.model = _label("modelStatus")
        self.retraining = QProgressBar(objectName="retrainBar")
        self.retraining.setTextVisible(True)
        self.retraining.setVisible(False)

        for title, widgets in (
            ("Sample", (self.sample_id, self.flag)),
            ("Model suggests", (self.suggestion,)),
            ("Why this sample", (self.why,)),
            ("Progress", (self.progress_bar, self.progress)),
            ("Model", (self.model, self.retraining)),
        ):
            box = QGroupBox(title)
            inner = QVBoxLayout(box)
            for w in widgets:
                inner.addWidget(w)
            layout.addWidget(box)
        layout.addStretch(1)

    def show_item(self, item: Item | None) -> None:
        self.sample_id.setText(item.sample.external_id if item else "—")
        self.suggestion.setText(suggestion_text(item))
        self.why.setText(why_text(item))
        self.set_flag(False, "")

    def set_flag(self, flagged: bool, comment: str) -> None:
        self.flag.setVisible(flagged)
        self.flag.setText(f"⚑ Flagged: {comment}" if comment else "⚑ Flagged")

    def show_progress(self, counts: Counts, labels_per_minute: float, session_labels: int) -> None:
        self.progress_bar.setRange(0, max(1, counts.total))
        self.progress_bar.setValue(counts.labeled)
        self.progress_bar.setFormat(f"{counts.labeled} / {counts.total} labeled")
        self.progress.setText(progress_text(counts, labels_per_minute, session_labels))

    def show_model(
        self, model: ModelStatus | None, labeled: int, cold_start: bool = False, seeds: bool = False
    ) -> None:
        self.model.setText(model_text(model, labeled, cold_start, seeds))

    def set_retraining(self, running: bool) -> None:
        """On from a retrain's start to its end; "starting" until its first phase arrives."""
        if running and not self.retraining.isVisible():
            self.retraining.setRange(0, 0)  # busy until the worker reports a phase
            self.retraining.setFormat(STARTING)
        self.retraining.setVisible(running)

    def show_retrain_progress(self, progress: RetrainProgress) -> None:
        """The running retrain's phase and percent (from the worker's progress events)."""
        bar = self.retraining
        bar.setRange(0, 100)
        bar.setValue(progress.percent)
        bar.setFormat(progress.text)
        bar.setVisible(True)
