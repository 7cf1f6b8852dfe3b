"""The annotate screen: the sample, the label buttons, the side panel, and the keyboard.

A thin view over :class:`~labeler.gui.controller.AnnotationController`: keys and buttons
call the controller; the controller's signals repaint the parts. Keys:

====================  ===============================================
1-9, a-z              the label with that shortcut (toggle in multi-label)
Y / N                 accept / reject (binary projects)
Enter                 confirm the toggled labels (multi-label)
Space                 skip
Ctrl+F                flag with a comment
/                     find samples: matches of some words come next
Ctrl+Z, Ctrl+Shift+Z  undo, redo (also Ctrl+Y)
Ctrl+H                the history: arrows, Enter shows a decision again, Escape back
Ctrl+R                retrain now
+ / - / * or Ctrl+0    zoom in / out / fit (images; label keys come first)
====================  ===============================================
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
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
from labeler.gui.find_samples import FindDialog, SampleFinder
from labeler.gui.history_panel import History, HistoryPanel, local_time
from labeler.gui.info_panel import InfoPanel
from labeler.gui.label_bar import LabelBar
from labeler.gui.sample_views import SampleDisplay
from labeler.gui.session import Item, ModelStatus
from labeler.gui.wrap_label import WrapLabel
from labeler.store import ProjectInfo
from labeler.store.history import Decision

HINTS = "Redo Ctrl+Shift+Z  ·  Retrain now Ctrl+R"
PAINT_GRACE_S = 0.15  # a sample whose paint was not seen counts as on screen after this


def project_title(info: ProjectInfo) -> str:
    """ "name · modality · task", without repeating a word the name already says (a demo
    is named by its kind: "text demo · single-label", not "text · text · single-label")."""
    demo = info.settings.get("demo")
    name = f"{demo} demo" if demo else info.name
    parts = [name, *(p for p in (info.modality, info.task_type) if p not in name.split())]
    return "  ·  ".join(parts)


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
        self.history_panel = HistoryPanel()
        self.history = History(controller, self.history_panel, self)
        self.history_panel.leave.connect(self.setFocus)
        self.history.revisited.connect(self._revisited)
        self.decision_note = WrapLabel("")
        self.decision_note.setObjectName("decisionNote")
        self.decision_note.setVisible(False)
        self._noted: int | None = None  # the sample the note is about
        # A key labels only the sample that was painted when it was pressed: the one shown
        # is "pending" until its view has painted it (see eventFilter), and a key pressed
        # before that moment (by its timestamp) was meant for the sample before.
        self._pending: int | None = None
        self.painted: int | None = None
        self._painted_at = 0.0  # time.monotonic() of that paint
        self._shown: int | None = None  # the sample last set on the display, and when
        self._shown_at = 0.0
        self._clock_offset: float | None = None  # monotonic minus key timestamps (seconds)
        for widget in self.display.findChildren(QWidget):  # whatever paints the sample
            widget.installEventFilter(self)
        self.flag_dialog: FlagDialog | None = None
        self.find_dialog: FindDialog | None = None
        self.finder = SampleFinder(controller, self)

        self.skip_button = QPushButton("Skip   [Space]")
        self.flag_button = QPushButton("Flag…   [Ctrl+F]")
        self.undo_button = QPushButton("Undo   [Ctrl+Z]")
        self.find_button = QPushButton("Find samples…   [/]")
        for b in (self.skip_button, self.flag_button, self.undo_button, self.find_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.skip_button.clicked.connect(controller.skip)
        self.flag_button.clicked.connect(self.ask_flag)
        self.undo_button.clicked.connect(controller.undo)
        self.find_button.clicked.connect(self.ask_find)

        title = QLabel(project_title(overview.info))
        title.setObjectName("projectTitle")
        zoom = "Zoom + / − / *  ·  " if overview.info.modality == "image" else ""
        hints = WrapLabel(zoom + HINTS)
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
        left.addWidget(self.decision_note)
        left.addWidget(self.label_bar)
        actions = QHBoxLayout()
        actions.addWidget(self.skip_button)
        actions.addWidget(self.flag_button)
        actions.addWidget(self.undo_button)
        actions.addWidget(self.find_button)
        actions.addStretch(1)
        left.addLayout(actions)
        left.addWidget(hints)  # its own line: the buttons alone fit a 1000 px window

        root = QHBoxLayout(self)
        root.setContentsMargins(16, 12, 16, 12)
        root.setSpacing(16)
        root.addLayout(left, 1)
        side = QVBoxLayout()
        side.addWidget(self.panel, 3)
        side.addWidget(self.history_panel, 2)
        root.addLayout(side)

        self.label_bar.labelChosen.connect(self._choose)
        self.label_bar.confirmRequested.connect(self.confirm)
        controller.itemShown.connect(self.show_item)
        controller.progressChanged.connect(self.refresh_progress)
        controller.modelChanged.connect(self._model_changed)
        controller.retrainingChanged.connect(self.panel.set_retraining)
        controller.retrainProgress.connect(self.panel.show_retrain_progress)
        controller.flagChanged.connect(self._flag_changed)
        controller.undone.connect(self._undone)
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
            if item.sample_id != self._noted:
                self._note(None, "")
            self._pending = self._shown = item.sample_id
            self._shown_at = time.monotonic()
            self.display.show_sample(item.sample)
            prediction = item.prediction.labels if item.prediction else ()
            self.label_bar.set_suggestion(tuple(prediction))
            self.label_bar.reset()
        self.panel.show_item(item)
        self.refresh_progress()  # the model note says where this sample came from
        self.shownItem.emit(item)

    def _note(self, sample_id: int | None, text: str) -> None:
        """A line above the label keys about the sample on screen (undone or revisited)."""
        self._noted = sample_id
        self.decision_note.setText(text)
        self.decision_note.setVisible(bool(text))

    def _undone(self, sample_id: int, action: str, labels: tuple[str, ...]) -> None:
        if action == "label":
            given = ", ".join(labels)
            self._note(
                sample_id, f"↶ Undone: you had labeled this “{given}”. A label key labels it again."
            )
        elif action == "skip":
            self._note(sample_id, "↶ Undone: you had skipped this.")

    def _revisited(self, decision: Decision) -> None:
        given = (
            f"labeled this “{', '.join(decision.labels)}”"
            if decision.action == "label"
            else "skipped this"
        )
        when = local_time(decision.at)
        self._note(decision.sample_id, f"You {given} at {when}. A label key changes it.")
        self.setFocus()  # the label keys act on it at once

    def _empty_text(self) -> str:
        if self.controller.reconnecting:
            return "Waiting for the database server…\nSamples appear as soon as it answers."
        if self.controller.fetching:
            return "Loading samples…"
        if held := self.controller.held_elsewhere:
            some = "1 sample" if held == 1 else f"{held} samples"
            return (
                f"Nothing to label right now: colleagues are working on {some}.\n"
                "Any they hand back, or that still need your label after theirs, appear here."
            )
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
        current = session.current
        seeds = current is not None and current.provenance.strategy == "cold-start"
        self.panel.show_model(
            self.controller.model, session.counts.labeled, self.controller.cold_start, seeds
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

    def ask_find(self) -> None:
        """Ask for words (or a regular expression); the unlabeled matches come next."""
        dialog = FindDialog(self)
        dialog.accepted.connect(
            lambda: self.finder.find(dialog.query.text(), dialog.regex.isChecked())
        )
        dialog.finished.connect(self._find_closed)
        self.find_dialog = dialog
        dialog.open()

    def _find_closed(self, _result: int) -> None:
        if self.find_dialog is not None:
            self.find_dialog.deleteLater()
        self.find_dialog = None
        self.setFocus()

    def _flag_closed(self, _result: int) -> None:
        if self.flag_dialog is not None:
            self.flag_dialog.deleteLater()
        self.flag_dialog = None
        self.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint and self._pending is not None:
            self.painted, self._pending = self._pending, None
            self._painted_at = time.monotonic()
        return False

    def _pressed_at(self, event: QKeyEvent) -> float:
        """When the key was pressed, on the monotonic clock: the window system's timestamp
        mapped with the smallest offset seen so far (the delivery delay is never negative);
        the time of delivery when the event has no timestamp."""
        now = time.monotonic()
        stamp = event.timestamp()
        if not stamp:
            return now
        offset = now - stamp / 1000.0
        if self._clock_offset is None or offset < self._clock_offset:
            self._clock_offset = offset
        return stamp / 1000.0 + self._clock_offset

    def visible_since(self) -> float | None:
        """Since when (``time.monotonic()``) the current sample is on screen: its first
        paint, or (if no paint was seen, e.g. the window is covered) a moment after it was
        set; None when another sample is being shown."""
        current = self.controller.current
        if current is None:
            return None
        if current.sample_id == self.painted:
            return self._painted_at
        if current.sample_id == self._shown:
            return self._shown_at + PAINT_GRACE_S
        return None

    def _on_screen(self, event: QKeyEvent) -> bool:
        """Whether the current sample was on screen before the key was pressed; if not, the
        key is refused (it was meant for the sample before, which is saved already)."""
        current = self.controller.current
        pressed = self._pressed_at(event)
        since = self.visible_since()
        if current is None or (since is not None and pressed >= since):
            return True
        self.controller.refused.emit("The next sample was not on screen yet: press the key again")
        return False

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
        elif mods == ctrl and key == Qt.Key.Key_H:
            self.history_panel.focus()
        elif mods == ctrl and key == Qt.Key.Key_0 and self.info.modality == "image":
            self.display.image_view.zoom_fit()
        elif mods & ctrl:
            return False
        elif key == Qt.Key.Key_Space:
            if self._on_screen(event):
                c.skip()
        elif event.text() == "/":
            self.ask_find()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.label_bar.mode == "multi":
            if self._on_screen(event):
                self.confirm()
        elif (name := self.label_bar.label_for_key(event.text())) is not None:
            if not self._on_screen(event):
                pass
            elif self.label_bar.mode == "multi":
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
            "find": self.ask_find,
            "undo": self.controller.undo,
            "redo": self.controller.redo,
            "retrain": self.controller.retrain_now,
        }[name]()
