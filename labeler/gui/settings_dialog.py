"""The settings dialog: user preferences and, with a project open, its active-learning set-up."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labeler.app_settings import FONT_SIZES, THEMES, ProjectSettings, UserSettings
from labeler.store.overlap import MAX_OVERLAP

COMPUTE_HELP = (
    "Where each retrain scores the pool: local (this computer, one process), dask-local:N "
    "(N worker processes on this computer) or dask://HOST:PORT (a Dask cluster's scheduler; "
    "its workers must reach the project). A failing cluster fails the retrain and keeps the "
    "previous model."
)


def engine_choices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The engine's strategy and model names."""
    from labeler.learning.catalog import CATALOG
    from labeler.learning.strategies import STRATEGIES

    return tuple(STRATEGIES), ("auto", *CATALOG)


TEXT_FEATURES_HELP = (
    "tfidf: word and word-pair counts; embedding: WordLlama sentence embeddings (offline, "
    "matches meaning across different words); tfidf+embedding: both. Changing it recomputes "
    "the features at the next retrain."
)


OVERLAP_HELP = (
    "Team mode: each overlap sample is handed to this many distinct annotators, so agreement "
    "can be measured and disagreements adjudicated in review. 1: every sample is labeled once."
)
TRACKING_HELP = (
    "mlflow:<tracking uri>, e.g. mlflow:sqlite:////home/me/mlflow.db or "
    "mlflow:http://host:5000: every retrain is logged there as an MLflow run (parameters, "
    "cross-validated metrics, label cut). A logging failure never fails the retrain."
)


def _combo(values: tuple[str, ...], current: str) -> QComboBox:
    box = QComboBox()
    box.addItems(list(values))
    if current not in values:
        box.addItem(current)
    box.setCurrentText(current)
    return box


class SettingsDialog(QDialog):
    """Edits copies of the settings; read them with :meth:`user_settings` after ``accepted``."""

    def __init__(
        self,
        user: UserSettings,
        project: ProjectSettings | None,
        parent: QWidget | None = None,
        modality: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._user = user
        self._project = project

        self.annotator = QLineEdit(user.annotator)
        self.theme = _combo(THEMES, user.theme)
        self.font_size = QSpinBox()
        self.font_size.setRange(FONT_SIZES.start, FONT_SIZES.stop - 1)
        self.font_size.setValue(user.font_size)
        self.font_size.setSuffix(" pt")
        you = QGroupBox("You")
        f = QFormLayout(you)
        f.addRow("Annotator name", self.annotator)
        f.addRow("Theme", self.theme)
        f.addRow("Sample font size", self.font_size)

        layout = QVBoxLayout(self)
        layout.addWidget(you)

        self.strategy = self.model = self.retrain_every = self.batch_size = None
        self.text_features: QComboBox | None = None
        self.overlap: QSpinBox | None = None
        self.overlap_fraction: QDoubleSpinBox | None = None
        self.compute: QLineEdit | None = None
        self.tracking: QLineEdit | None = None
        self.error_box: QMessageBox | None = None
        if project is not None:
            strategies, models = engine_choices()
            self.strategy = _combo(strategies, project.strategy)
            self.model = _combo(models, project.model)
            self.retrain_every = QSpinBox()
            self.retrain_every.setRange(0, 10_000)
            self.retrain_every.setSpecialValueText("only on demand")
            self.retrain_every.setValue(project.retrain_every)
            self.retrain_every.setSuffix(" labels")
            self.batch_size = QSpinBox()
            self.batch_size.setRange(1, 10_000)
            self.batch_size.setValue(project.batch_size)
            proj = QGroupBox("This project (shared by its annotators)")
            g = QFormLayout(proj)
            g.addRow("Query strategy", self.strategy)
            g.addRow("Model", self.model)
            g.addRow("Retrain every", self.retrain_every)
            g.addRow("Batch size (ranked per retrain)", self.batch_size)
            self.compute = QLineEdit(project.compute)
            self.compute.setToolTip(COMPUTE_HELP)
            g.addRow("Compute (pool scoring)", self.compute)
            if modality == "text":
                from labeler.learning.featureset import TEXT_FEATURES

                self.text_features = _combo(TEXT_FEATURES, project.text_features)
                self.text_features.setToolTip(TEXT_FEATURES_HELP)
                g.addRow("Text features", self.text_features)
            self.overlap = QSpinBox(objectName="overlapSpin")
            self.overlap.setRange(1, MAX_OVERLAP)
            self.overlap.setValue(project.overlap)
            self.overlap.setSpecialValueText("1 (no overlap)")
            self.overlap.setSuffix(" annotators")
            self.overlap.setToolTip(OVERLAP_HELP)
            self.overlap_fraction = QDoubleSpinBox(objectName="overlapFractionSpin")
            self.overlap_fraction.setRange(0.0, 100.0)
            self.overlap_fraction.setDecimals(1)
            self.overlap_fraction.setSuffix(" % of samples")
            self.overlap_fraction.setValue(project.overlap_fraction * 100.0)
            self.overlap_fraction.setToolTip("The share of samples that get the overlap.")
            g.addRow("Overlap", self.overlap)
            g.addRow("Overlap on", self.overlap_fraction)
            self.tracking = QLineEdit(project.tracking, objectName="trackingEdit")
            self.tracking.setPlaceholderText("mlflow:sqlite:////path/mlflow.db (empty: none)")
            self.tracking.setToolTip(TRACKING_HELP)
            g.addRow("Experiment tracking", self.tracking)
            layout.addWidget(proj)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept_if_valid)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(460, self.sizeHint().height())

    def _accept_if_valid(self) -> None:
        """Accept, unless the tracking URI or the compute setting is malformed (then say so;
        the dialog stays)."""
        from labeler.learning.compute import ComputeError, parse_compute
        from labeler.learning.tracking import TrackingError, parse_tracking

        if self.tracking is not None:
            try:
                parse_tracking(self.tracking.text())
            except TrackingError as exc:
                self._refuse("Experiment tracking", str(exc), self.tracking)
                return
        if self.compute is not None:
            try:
                self.compute.setText(str(parse_compute(self.compute.text())))
            except ComputeError as exc:
                self._refuse("Compute", str(exc), self.compute)
                return
        self.accept()

    def _refuse(self, title: str, message: str, field: QLineEdit) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self
        )
        box.finished.connect(box.deleteLater)
        self.error_box = box
        box.open()  # window-modal: the event loop (and tests) go on
        field.setFocus()

    def user_settings(self) -> UserSettings:
        return replace(
            self._user,
            annotator=self.annotator.text().strip() or self._user.annotator,
            theme=self.theme.currentText(),
            font_size=self.font_size.value(),
        ).validated()

    def project_settings(self) -> ProjectSettings | None:
        if self._project is None or self.strategy is None:
            return None
        assert self.model is not None and self.retrain_every is not None
        assert self.batch_size is not None
        return replace(
            self._project,
            strategy=self.strategy.currentText(),
            model=self.model.currentText(),
            retrain_every=self.retrain_every.value(),
            batch_size=self.batch_size.value(),
            text_features=self.text_features.currentText()
            if self.text_features is not None
            else self._project.text_features,
            overlap=self.overlap.value() if self.overlap is not None else self._project.overlap,
            overlap_fraction=self.overlap_fraction.value() / 100.0
            if self.overlap_fraction is not None
            else self._project.overlap_fraction,
            compute=self.compute.text() if self.compute is not None else self._project.compute,
            tracking=self.tracking.text().strip()
            if self.tracking is not None
            else self._project.tracking,
        )
