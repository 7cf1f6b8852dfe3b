"""The annotate screen: the sample, the label buttons, the side panel, and the keyboard.

A thin view over :class:`~labeler.gui.controller.AnnotationController`: keys and buttons
call the controller; the controller's signals repaint the parts. Keys:

====================  ===============================================
1-9, a-z              the label with that shortcut (toggle in multi-label)
Y / N                 accept / reject (binary projects)
Enter                 confirm the toggled labels (multi-label)
Space                 skip
Ctrl+F                flag with a comment
Ctrl+Z, Ctrl+Shift+Z  undo, redo (also Ctrl+Y)
Ctrl+R                retrain now
+ / - / * or Ctrl+0    zoom in / out / fit (images; label keys come first)
====================  ===============================================
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from labeler.gui.annotation_ops import ProjectOverview
from labeler.gui.controller import AnnotationController
from labeler.gui.info_panel import InfoPanel
from labeler.gui.label_bar import LabelBar
from labeler.gui.sample_views import SampleDisplay
from labeler.gui.session import Item, ModelStatus

HINTS = "Redo Ctrl+Shift+Z  ·  Retrain now Ctrl+R"


class FlagDialog(QDialog):
    """Asks for the flag's comment. Opened with ``open()`` (window-modal, never blocks)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Flag sample")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("What is wrong with this sample?"))
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("e.g. ambiguous, corrupt image, wrong language")
        layout.addWidget(self.comment)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(420, self.sizeHint().height())


class AnnotateView(QWidget):
    """One sample at a time; built for an opened project."""

    shownItem = Signal(object)  # emitted after the view shows an item (or a message)

    def __init__(
        self, controller: AnnotationController, overview: ProjectOverview, font_size: int
    ) -> None:
        super().__init__()
        self.setObjectName("annotateView")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.controller = controller
        self.info = overview.info
        self.display = SampleDisplay()
        self.display.modality = overview.info.modality
        self.label_bar = LabelBar(overview.info)
        self.panel = InfoPanel()
        self.flag_dialog: FlagDialog | None = None

        self.skip_button = QPushButton("Skip   [Space]")
        self.flag_button = QPushButton("Flag…   [Ctrl+F]")
        self.undo_button = QPushButton("Undo   [Ctrl+Z]")
        for b in (self.skip_button, self.flag_button, self.undo_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.skip_button.clicked.connect(controller.skip)
        self.flag_button.clicked.connect(self.ask_flag)
        self.undo_button.clicked.connect(controller.undo)

        title = QLabel(
            f"{overview.info.name}  ·  {overview.info.modality}  ·  {overview.info.task_type}"
        )
        title.setObjectName("projectTitle")
        zoom = "Zoom + / − / *  ·  " if overview.info.modality == "image" else ""
        hints = QLabel(zoom + HINTS)
        hints.setObjectName("hints")

        # shown while the database server is away (see labeler.gui.connection_state)
        self.connection_banner = QLabel()
        self.connection_banner.setObjectName("connectionBanner")
        self.connection_banner.setWordWrap(True)
        self.connection_banner.setVisible(False)

        left = QVBoxLayout()
        left.addWidget(title)
        left.addWidget(self.connection_banner)
        left.addWidget(self.display, 1)
        left.addWidget(self.label_bar)
        actions = QHBoxLayout()
        actions.addWidget(self.skip_button)
        actions.addWidget(self.flag_button)
        actions.addWidget(self.undo_button)
        actions.addStretch(1)
        actions.addWidget(hints)
        left.addLayout(actions)

        root = QHBoxLayout(self)
        root.setContentsMargins(16, 12, 16, 12)
        root.setSpacing(16)
        root.addLayout(left, 1)
        root.addWidget(self.panel)

        self.label_bar.labelChosen.connect(self._choose)
        self.label_bar.confirmRequested.connect(self.confirm)
        controller.itemShown.connect(self.show_item)
        controller.progressChanged.connect(self.refresh_progress)
        controller.modelChanged.connect(self._model_changed)
        controller.retrainingChanged.connect(self.panel.set_retraining)
        controller.flagChanged.connect(self._flag_changed)
        controller.connectionChanged.connect(self._connection_changed)
        self.set_font_size(font_size)
        self.display.show_message("Loading samples…")
        self.refresh_progress()

    # -- display -------------------------------------------------------------------------

    def set_font_size(self, points: int) -> None:
        self.display.set_font_size(points)

    def show_item(self, item: Item | None) -> None:
        if item is None:
            self.display.show_message(self._empty_text())
        else:
            self.display.show_sample(item.sample)
            prediction = item.prediction.labels if item.prediction else ()
            self.label_bar.set_suggestion(tuple(prediction))
            self.label_bar.reset()
        self.panel.show_item(item)
        self.shownItem.emit(item)

    def _empty_text(self) -> str:
        if self.controller.reconnecting:
            return "Waiting for the database server…\nSamples appear as soon as it answers."
        if self.controller.fetching:
            return "Loading samples…"
        return "Nothing left to label in the queue. 🎉\nRetrain (Ctrl+R) or import more data."

    def _connection_changed(self, text: str) -> None:
        self.connection_banner.setText(f"⚠ {text}" if text else "")
        self.connection_banner.setVisible(bool(text))
        if self.controller.current is None:
            self.display.show_message(self._empty_text())

    def refresh_progress(self) -> None:
        session = self.controller.session
        if session is None:
            return
        self.panel.show_progress(
            session.counts, session.stats.labels_per_minute(), session.stats.labels
        )
        self.panel.show_model(
            self.controller.model, session.counts.labeled, self.controller.cold_start
        )

    def _model_changed(self, model: ModelStatus) -> None:
        self.refresh_progress()

    def _flag_changed(self, sample_id: int, flagged: bool, comment: str) -> None:
        current = self.controller.current
        if current is not None and current.sample_id == sample_id:
            self.panel.set_flag(flagged, comment)

    # -- commands ------------------------------------------------------------------------

    def _choose(self, name: str) -> None:
        self.controller.label([name])

    def confirm(self) -> None:
        chosen = self.label_bar.toggled()
        if chosen:
            self.controller.label(chosen)
        else:
            self.controller.message.emit("Toggle at least one label before confirming")

    def ask_flag(self) -> None:
        if self.controller.current is None:
            return
        dialog = FlagDialog(self)
        dialog.accepted.connect(lambda: self.controller.flag(dialog.comment.text().strip()))
        dialog.finished.connect(self._flag_closed)
        self.flag_dialog = dialog
        dialog.open()

    def _flag_closed(self, _result: int) -> None:
        if self.flag_dialog is not None:
            self.flag_dialog.deleteLater()
        self.flag_dialog = None
        self.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if not self.handle_key(event):
            super().keyPressEvent(event)

    def handle_key(self, event: QKeyEvent) -> bool:
        """Dispatch a key press; True if it was ours."""
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ctrl = Qt.KeyboardModifier.ControlModifier
        shift = Qt.KeyboardModifier.ShiftModifier
        c = self.controller
        if event.matches(QKeySequence.StandardKey.Redo) or (
            mods == ctrl | shift and key == Qt.Key.Key_Z
        ):
            c.redo()
        elif event.matches(QKeySequence.StandardKey.Undo):
            c.undo()
        elif mods == ctrl and key == Qt.Key.Key_F:
            self.ask_flag()
        elif mods == ctrl and key == Qt.Key.Key_R:
            c.retrain_now()
        elif mods == ctrl and key == Qt.Key.Key_0 and self.info.modality == "image":
            self.display.image_view.zoom_fit()
        elif mods & ctrl:
            return False
        elif key == Qt.Key.Key_Space:
            c.skip()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.label_bar.mode == "multi":
            self.confirm()
        elif (name := self.label_bar.label_for_key(event.text())) is not None:
            if self.label_bar.mode == "multi":
                if c.current is not None:
                    self.label_bar.toggle(name)
            else:
                c.label([name])
        elif self.info.modality == "image" and key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.display.image_view.zoom_in()
        elif self.info.modality == "image" and key == Qt.Key.Key_Minus:
            self.display.image_view.zoom_out()
        elif self.info.modality == "image" and key == Qt.Key.Key_Asterisk:
            self.display.image_view.zoom_fit()
        else:
            return False
        return True

    def command(self, name: str) -> Any:
        """Run a command by name (menu actions)."""
        return {
            "skip": self.controller.skip,
            "flag": self.ask_flag,
            "undo": self.controller.undo,
            "redo": self.controller.redo,
            "retrain": self.controller.retrain_now,
        }[name]()
