"""The new-project wizard: pick a file or an image folder -> preview its first rows -> choose the
modality and columns -> define labels and their keys -> create and import (cancellable).

The guesses and the create-and-import operation are Qt-free (:mod:`labeler.gui.new_project`);
these pages only collect choices. Errors are shown inline (preview) or in a dialog (import),
and a failed or cancelled import leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from labeler.data.importer import ColumnMapping
from labeler.data.readers import preview
from labeler.errors import LabelerError
from labeler.gui.dialogs import Reporter
from labeler.gui.file_dialogs import DATA_FILES, file_dialog
from labeler.gui.long_task import LongTask
from labeler.gui.new_project import Guess, NewProject, create_and_import, default_keys, guess
from labeler.gui.settings_dialog import TEXT_FEATURES_HELP
from labeler.gui.tasks import TaskRunner
from labeler.learning.featureset import DEFAULT_TEXT_FEATURES, TEXT_FEATURES

NONE = "(none)"
PREVIEW_ROWS = 20


def _column_combo(columns: list[str], current: str | None, optional: bool = True) -> QComboBox:
    box = QComboBox()
    if optional:
        box.addItem(NONE)
    box.addItems(columns)
    box.setCurrentText(current if current is not None else NONE)
    return box


def _value(box: QComboBox) -> str | None:
    text = box.currentText()
    return None if text == NONE else text


MIN_PREVIEW_COLUMN = 60  # px
MAX_PREVIEW_COLUMN = 420  # px: a column of prose gets room without hiding the others


class SourcePage(QWizardPage):
    def __init__(self, wizard: NewProjectWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Choose your data")
        self.setSubTitle(
            "A CSV, TSV, Parquet, JSONL or Excel file, or a folder of images "
            "(subfolders named after labels become labels)."
        )
        self.path = QLineEdit()
        self.path.setPlaceholderText("/path/to/data.csv")
        file_button = QPushButton("File…")
        folder_button = QPushButton("Image folder…")
        file_button.clicked.connect(self._choose_file)
        folder_button.clicked.connect(self._choose_folder)
        self.error = QLabel()
        self.error.setObjectName("wizardError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e;")
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(file_button)
        row.addWidget(folder_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.registerField("source*", self.path)

    def _choose_file(self) -> None:
        file_dialog(self, "Choose a data file", self.path.setText, name_filters=[DATA_FILES])

    def _choose_folder(self) -> None:
        file_dialog(self, "Choose an image folder", self.path.setText, mode="folder")

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        path = Path(self.path.text().strip()).expanduser()
        try:
            frame = preview(path, PREVIEW_ROWS)
        except LabelerError as exc:
            self.error.setText(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - any unreadable file: say so, stay here
            self.error.setText(f"{path}: cannot read this file ({type(exc).__name__}: {exc})")
            return False
        if frame.empty:
            self.error.setText(f"{path}: no rows found")
            return False
        self.error.clear()
        self.w.set_preview(path, frame)
        return True


class ColumnsPage(QWizardPage):
    def __init__(self, wizard: NewProjectWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Preview and columns")
        self.setSubTitle("The first rows of your data. Tell Labeler what each column is.")
        self.table = QTableView()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setMinimumHeight(180)
        self.modality = QComboBox()
        self.modality.addItems(["text", "image", "tabular"])
        self.form = QFormLayout()
        self.form.addRow("Modality", self.modality)
        self.id_column = QComboBox()
        self.text_column = QComboBox()
        self.image_column = QComboBox()
        self.label_column = QComboBox()
        self.features = QListWidget()
        self.features.setMaximumHeight(120)
        self.form.addRow("ID column", self.id_column)
        self.form.addRow("Text column", self.text_column)
        self.form.addRow("Image column", self.image_column)
        self.form.addRow("Feature columns", self.features)
        self.text_features = QComboBox()
        self.text_features.addItems(list(TEXT_FEATURES))
        self.text_features.setCurrentText(DEFAULT_TEXT_FEATURES)
        self.text_features.setToolTip(TEXT_FEATURES_HELP)
        self.form.addRow("Text features", self.text_features)
        self.form.addRow("Existing labels in column", self.label_column)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(self.form)
        self.modality.currentTextChanged.connect(self._modality_changed)

    def load(self, frame: pd.DataFrame, g: Guess) -> None:
        columns = [str(c) for c in frame.columns]
        model = QStandardItemModel(len(frame), len(columns), self)
        model.setHorizontalHeaderLabels(columns)
        for r, row in enumerate(frame.itertuples(index=False)):
            for c, value in enumerate(row):
                text = (
                    ""
                    if value is None or (isinstance(value, float) and pd.isna(value))
                    else str(value)
                )
                model.setItem(r, c, QStandardItem(text[:200]))
        self.table.setModel(model)
        self.table.resizeColumnsToContents()  # text must be readable, within reason
        for c in range(len(columns)):
            width = self.table.columnWidth(c)
            self.table.setColumnWidth(c, max(MIN_PREVIEW_COLUMN, min(width, MAX_PREVIEW_COLUMN)))
        for box, current in (
            (self.id_column, g.id_column),
            (self.text_column, g.text_column),
            (self.image_column, g.image_column),
            (self.label_column, g.label_column),
        ):
            box.clear()
            box.addItem(NONE)
            box.addItems(columns)
            box.setCurrentText(current if current is not None else NONE)
        self.features.clear()
        for c in columns:
            item = QListWidgetItem(c)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if c in g.feature_columns else Qt.CheckState.Unchecked
            )
            self.features.addItem(item)
        self.modality.setCurrentText(g.modality)
        self._modality_changed(g.modality)

    def _modality_changed(self, modality: str) -> None:
        self.form.setRowVisible(self.text_column, modality == "text")
        self.form.setRowVisible(self.text_features, modality == "text")
        self.form.setRowVisible(self.image_column, modality == "image")
        self.form.setRowVisible(self.features, modality == "tabular")

    def feature_columns(self) -> list[str]:
        return [
            self.features.item(i).text()
            for i in range(self.features.count())
            if self.features.item(i).checkState() == Qt.CheckState.Checked
        ]

    def mapping(self) -> ColumnMapping:
        modality = self.modality.currentText()
        return ColumnMapping(
            id_column=_value(self.id_column),
            text_column=_value(self.text_column) if modality == "text" else None,
            image_column=_value(self.image_column) if modality == "image" else None,
            feature_columns=self.feature_columns() if modality == "tabular" else None,
            label_column=_value(self.label_column),
        )

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        self.w.labels_page.suggest(self.w.guessed_labels(_value(self.label_column)))
        return True


class LabelsPage(QWizardPage):
    def __init__(self, wizard: NewProjectWizard) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle("Labels and keys")
        self.setSubTitle(
            "Comma-separated label names, in the order of their keys. Each key labels a sample."
        )
        self.labels = QLineEdit()
        self.labels.setPlaceholderText("positive, negative, neutral")
        self.task = QComboBox()
        self.task.addItems(["single-label", "multi-label", "binary"])
        self.folder = QLineEdit()
        browse = QPushButton("…")
        browse.clicked.connect(self._choose_folder)
        self.keys = QTableWidget(0, 2)
        self.keys.setHorizontalHeaderLabels(["Label", "Key"])
        self.keys.verticalHeader().setVisible(False)
        self.keys.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e;")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Labels", self.labels)
        form.addRow("Task", self.task)
        form.addRow("Project folder", folder_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.keys, 1)
        layout.addWidget(self.error)
        self.labels.textChanged.connect(self._labels_changed)

    def _choose_folder(self) -> None:
        file_dialog(
            self,
            "Where to create the project",
            lambda p: self.folder.setText(str(Path(p) / self.w.suggested_name())),
            mode="folder",
        )

    def suggest(self, labels: list[str]) -> None:
        if labels and not self.labels.text().strip():
            self.labels.setText(", ".join(labels))
        if not self.folder.text().strip():
            self.folder.setText(str(self.w.source.parent / self.w.suggested_name()))
        self._suggested = (self.labels.text(), self.folder.text())

    def forget_suggestions(self) -> None:
        """Another file was chosen: clear what was suggested from the previous one (what the
        user typed stays)."""
        labels, folder = getattr(self, "_suggested", ("", ""))
        if self.labels.text() == labels:
            self.labels.clear()
        if self.folder.text() == folder:
            self.folder.clear()

    def names(self) -> list[str]:
        return [x.strip() for x in self.labels.text().split(",") if x.strip()]

    def _labels_changed(self) -> None:
        names = self.names()
        old = {
            self.keys.item(r, 0).text(): self.keys.item(r, 1).text()
            for r in range(self.keys.rowCount())
            if self.keys.item(r, 0) and self.keys.item(r, 1)
        }
        defaults = default_keys(names) if len(names) <= 35 else [""] * len(names)
        self.keys.setRowCount(len(names))
        for r, (name, key) in enumerate(zip(names, defaults, strict=True)):
            label_item = QTableWidgetItem(name)
            label_item.setFlags(label_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.keys.setItem(r, 0, label_item)
            self.keys.setItem(r, 1, QTableWidgetItem(old.get(name, key)))

    def shortcuts(self) -> list[str]:
        return [
            (self.keys.item(r, 1).text() if self.keys.item(r, 1) else "").strip().lower()
            for r in range(self.keys.rowCount())
        ]

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        names, keys = self.names(), self.shortcuts()
        problem = None
        if len(names) < 2 and self.task.currentText() != "multi-label":
            problem = "Give at least two labels."
        elif self.task.currentText() == "binary" and len(names) != 2:
            problem = "A binary project has exactly two labels (accept, reject)."
        elif any(len(k) != 1 for k in keys) or len(set(keys)) != len(keys):
            problem = "Each label needs its own one-character key."
        elif any(k == " " for k in keys):
            problem = "Space is the skip key."
        elif not self.folder.text().strip():
            problem = "Choose a project folder."
        self.error.setText(problem or "")
        return problem is None


class NewProjectWizard(QWizard):
    """Opened with ``open()``; emits ``projectCreated(folder)`` after a successful import."""

    projectCreated = Signal(str)
    importFailed = Signal(str)

    def __init__(
        self, parent: QWidget, reporter: Reporter, runner: TaskRunner | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.reporter = reporter
        self.runner = runner or TaskRunner(self, name="labeler-import")
        self.source = Path()
        self.frame = pd.DataFrame()
        self.is_folder = False
        self.source_page = SourcePage(self)
        self.columns_page = ColumnsPage(self)
        self.labels_page = LabelsPage(self)
        for page in (self.source_page, self.columns_page, self.labels_page):
            self.addPage(page)
        self.task: LongTask | None = None
        self.resize(820, 640)

    def set_preview(self, path: Path, frame: pd.DataFrame) -> None:
        if getattr(self, "source", None) not in (None, path.resolve()):
            self.labels_page.forget_suggestions()
        self.source = path.resolve()
        self.frame = frame
        self.is_folder = path.is_dir()
        self.columns_page.load(frame, guess(frame, self.is_folder))

    def guessed_labels(self, label_column: str | None) -> list[str]:
        if label_column is None or label_column not in self.frame.columns:
            return []
        fake = self.frame[[label_column]].rename(columns={label_column: "label"})
        return guess(fake, False).labels

    def suggested_name(self) -> str:
        return f"{self.source.stem or self.source.name}-project"

    def plan(self) -> NewProject:
        return NewProject(
            folder=Path(self.labels_page.folder.text().strip()).expanduser(),
            source=self.source,
            modality=self.columns_page.modality.currentText(),
            task_type=self.labels_page.task.currentText(),
            labels=self.labels_page.names(),
            shortcuts=self.labels_page.shortcuts(),
            mapping=self.columns_page.mapping(),
            text_features=self.columns_page.text_features.currentText(),
        )

    def accept(self) -> None:
        plan = self.plan()
        super().accept()
        task = LongTask(
            self.runner, self.parentWidget(), "New project", f"Importing {plan.source.name}"
        )
        task.succeeded.connect(lambda result: self.projectCreated.emit(result[0]))
        task.failed.connect(self._failed)
        task.cancelled.connect(
            lambda: self.reporter.info("Import cancelled", "Nothing was created.")
        )
        self.task = task
        task.start(self._create, plan)

    @staticmethod
    def _create(plan: NewProject, *, progress: Any, cancel: Any) -> Any:
        return create_and_import(plan, progress=progress, cancel=cancel)

    def _failed(self, message: str, details: str) -> None:
        self.importFailed.emit(message)
        self.reporter.error(
            "Import failed",
            f"{message}\n\nNothing was created; fix the file and try again.",
            details,
        )
