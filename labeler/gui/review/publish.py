"""Export a dataset snapshot and push the model to a registry, from the review view.

:class:`ExportDialog` asks for the format, the label policy and the file (the CLI's
``--format`` and ``--policy``); :class:`Publisher` runs the export (progress, cancel) and the
push (after a confirmation) on the view's jobs worker, imports included.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QWidget,
)

from labeler.export.policy import POLICIES
from labeler.gui.dialogs import Reporter
from labeler.gui.file_dialogs import file_dialog
from labeler.gui.tasks import TaskRunner
from labeler.progress import CancelToken
from labeler.store import Store

FORMATS = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl", "label-studio": ".json"}
POLICY_HELP = {
    "latest": "latest: each sample's current label (adjudicated where adjudicated)",
    "adjudicated": "adjudicated: only undisputed labels (adjudicated, or all annotators agree)",
    "majority": "majority: the label most annotators gave (ties: the latest)",
}


class ExportDialog(QDialog):
    """Format, label policy and file for a dataset export."""

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export labeled samples")
        self.setObjectName("exportDialog")
        self.exports = store.artifacts_dir / "exports"
        self.name = store.info.name
        self.format = QComboBox(objectName="exportFormat")
        self.format.addItems(list(FORMATS))
        self.policy = QComboBox(objectName="exportPolicy")
        for name in POLICIES:
            self.policy.addItem(POLICY_HELP.get(name, name), name)
        self.path = QLineEdit(objectName="exportPath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("&Format", self.format)
        form.addRow("&Labels", self.policy)
        form.addRow("F&ile", row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.format.currentTextChanged.connect(self._suggest)
        self._suggest(self.format.currentText())

    def _suggest(self, fmt: str) -> None:
        self.path.setText(str(self.exports / f"{self.name}{FORMATS[fmt]}"))

    def _browse(self) -> None:
        self.exports.mkdir(parents=True, exist_ok=True)
        file_dialog(self, "Export to", self.path.setText, start=self.exports, mode="save")

    def choice(self) -> tuple[str, str, str]:
        """(format, policy, path)."""
        return self.format.currentText(), str(self.policy.currentData()), self.path.text()


class Publisher(QObject):
    exportFinished = Signal(object)  # ExportResult
    pushFinished = Signal(object)  # PushResult
    _exportProgress = Signal(int, int)  # done, total: emitted by the export worker

    def __init__(
        self,
        store: Store,
        jobs: TaskRunner,
        reporter: Reporter,
        parent: QWidget,
        status: Callable[[str], None],
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.jobs = jobs
        self.reporter = reporter
        self.window = parent
        self.status = status
        self.export_dialog: ExportDialog | None = None
        self.export_progress: QProgressDialog | None = None
        self.push_confirmation: QMessageBox | None = None
        self._exportProgress.connect(self._on_export_progress)

    # -- export --------------------------------------------------------------------------------

    def ask_export(self) -> ExportDialog:
        dialog = ExportDialog(self.store, self.window)
        dialog.accepted.connect(lambda: self.export_dataset(*_reorder(dialog.choice())))
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(lambda *_: setattr(self, "export_dialog", None))
        self.export_dialog = dialog
        dialog.open()
        return dialog

    def export_dataset(self, fmt: str, path: str | Path, policy: str = "latest") -> CancelToken:
        """Export in the background with a progress dialog that can cancel it."""
        token = CancelToken()
        dialog = QProgressDialog("Exporting labeled samples…", "Cancel", 0, 0, self.window)
        dialog.setObjectName("exportProgress")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.canceled.connect(token.cancel)
        self.export_progress = dialog

        def progress(done: int, total: int | None) -> None:
            if total:
                self._exportProgress.emit(done, total)

        def finished(result: Any) -> None:
            dialog.reset()
            m = result.manifest
            self.status(
                f"Exported snapshot v{m['snapshot_version']} ({policy} labels): {m['rows']} rows "
                f"to {result.path}"
            )
            self.exportFinished.emit(result)

        def failed(exc: BaseException) -> None:
            dialog.reset()
            self.status(f"Export stopped: {exc}")
            self.reporter.error("Export failed", str(exc))

        def run() -> Any:
            from labeler.export import export_dataset

            return export_dataset(
                self.store, fmt, path, policy=policy, progress=progress, cancel=token
            )

        dialog.show()
        self.jobs.submit(run, on_done=finished, on_error=failed)
        return token

    @Slot(int, int)
    def _on_export_progress(self, done: int, total: int) -> None:
        dialog = self.export_progress
        if dialog is not None:
            if dialog.maximum() != total:
                dialog.setMaximum(total)
            dialog.setValue(done)

    # -- push ----------------------------------------------------------------------------------

    def confirm_push(self) -> QMessageBox:
        """Ask before publishing the latest model (a push can make it the champion)."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Export model to registry",
            "Push the latest model to the project's registry? It becomes the candidate, and "
            "the champion if it beats the current champion on labels neither has seen.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self.window,
        )
        box.setObjectName("confirmPush")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        yes = QMessageBox.StandardButton.Yes
        box.buttonClicked.connect(
            lambda button: self.push_model() if box.standardButton(button) == yes else None
        )
        box.finished.connect(box.deleteLater)
        box.finished.connect(lambda *_: setattr(self, "push_confirmation", None))
        self.push_confirmation = box
        box.open()
        return box

    def push_model(self, registry_uri: str | None = None, force: bool = False) -> None:
        """Push the latest model to a registry (the project's folder registry by default).

        Everything runs on the jobs worker, imports included (skops indexes its trusted
        types on import: most of a second the GUI thread must not spend)."""

        def push() -> Any:
            from labeler.registry import open_registry
            from labeler.registry.push import push_project_model

            return push_project_model(
                self.store, open_registry(registry_uri, self.store), force=force
            )

        def done(result: Any) -> None:
            v, prom = result.version, result.promotion
            message = (
                f"Pushed {v.name} v{v.version} ({', '.join(v.aliases)}). "
                f"{'Promoted to champion' if prom.promoted else 'Not promoted'}: {prom.reason}."
            )
            self.status(message)
            self.reporter.info("Model exported to registry", message, v.location)
            self.pushFinished.emit(result)

        self.status("Pushing the model to the registry…")
        self.jobs.submit(
            push,
            on_done=done,
            on_error=lambda exc: self.reporter.error("Cannot export the model", str(exc)),
        )


def _reorder(choice: tuple[str, str, str]) -> tuple[str, str, str]:
    fmt, policy, path = choice
    return fmt, path, policy
