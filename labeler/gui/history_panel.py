"""The annotate view's history: this annotator's last decisions (label or skip, with the
time), newest first, as Prodigy lists them. Click one, or Ctrl+H then arrows and Enter, to
bring its sample back on screen and change the decision with a label key (a new label event;
the newest one decides). Escape hands the keyboard back to the sample.

:class:`HistoryPanel` only displays; :class:`History` (owned by the view) reads the store on
the controller's database worker after each decision, undo or redo, and revisits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGroupBox, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from labeler.gui import annotation_ops as ops
from labeler.gui.session import Counts, Item
from labeler.store import Provenance, Store
from labeler.store.history import Decision, recent_decisions

if TYPE_CHECKING:
    from labeler.gui.controller import AnnotationController

SHOWN = 12  # decisions listed
REVISIT_STRATEGY = "history"  # provenance of a label given to a revisited sample


def local_time(at: datetime) -> str:
    """A stored UTC time as the annotator's local clock time."""
    return at.replace(tzinfo=UTC).astimezone().strftime("%H:%M:%S")


def decision_text(d: Decision) -> str:
    what = ", ".join(d.labels) if d.action == "label" else "skipped"
    return f"{what}  ·  {local_time(d.at)}  ·  {d.external_id}: {d.snippet}"


def revisit_item(store: Store, sample_id: int, annotator: str, session: str) -> Item:
    """The sample of a listed decision, held for this annotator again, ready to show."""
    store.claims.claim(annotator, [sample_id], session=session)
    found = ops.items_for(store, [(sample_id, Provenance(None, REVISIT_STRATEGY, None), None)])
    if not found:
        raise LookupError(f"sample #{sample_id} is no longer in the project")
    return found[0]


class HistoryPanel(QGroupBox):
    revisitRequested = Signal(object)  # Decision
    leave = Signal()  # Escape: the keyboard goes back to the sample

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("History  [Ctrl+H]", parent)
        self.setObjectName("historyPanel")
        layout = QVBoxLayout(self)
        self.list = QListWidget(objectName="historyList")
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setToolTip("Click or Enter: show the sample again to change its label")
        self.list.itemClicked.connect(self._chosen)
        self.list.itemActivated.connect(self._chosen)
        self.list.installEventFilter(self)
        layout.addWidget(self.list)
        self.decisions: list[Decision] = []

    def show_decisions(self, decisions: list[Decision]) -> None:
        row = max(0, self.list.currentRow())
        self.decisions = decisions
        self.list.clear()
        for d in decisions:
            item = QListWidgetItem(decision_text(d))
            item.setData(Qt.ItemDataRole.UserRole, d.sample_id)
            item.setToolTip(f"{d.external_id}\n{d.snippet}")
            self.list.addItem(item)
        if decisions and self.list.hasFocus():
            self.list.setCurrentRow(min(row, len(decisions) - 1))

    def focus(self) -> None:
        self.list.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if self.list.currentRow() < 0 and self.list.count():
            self.list.setCurrentRow(0)

    def _chosen(self, item: QListWidgetItem) -> None:
        row = self.list.row(item)
        if 0 <= row < len(self.decisions):
            self.revisitRequested.emit(self.decisions[row])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.list and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape:
                self.leave.emit()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.list.currentItem()
                if item is not None:
                    self._chosen(item)
                return True
        return False


class History(QObject):
    """Keeps a :class:`HistoryPanel` current and brings back the decisions it lists."""

    loaded = Signal()  # the panel shows the store's latest decisions
    revisited = Signal(object)  # Decision whose sample is now on screen

    def __init__(
        self, controller: AnnotationController, panel: HistoryPanel, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.panel = panel
        self._revisited: set[int] = set()  # samples shown again: their next label is a change
        panel.revisitRequested.connect(self.revisit)
        controller.labelSaved.connect(self._saved)
        controller.progressChanged.connect(self.refresh)

    def refresh(self) -> None:
        c = self.controller
        if c.store is None:
            return
        c.runner.submit(
            recent_decisions,
            c.store,
            c.annotator,
            SHOWN,
            on_done=self._loaded,
            on_error=lambda exc: None,  # the list stays as it was; the next change retries
        )

    def _gone(self) -> bool:
        """The view (and this panel) was closed while a store call was on its way."""
        return not shiboken6.isValid(self.panel) or not shiboken6.isValid(self)

    def _loaded(self, decisions: list[Decision]) -> None:
        if self._gone():
            return
        self.panel.show_decisions(decisions)
        self.loaded.emit()

    def revisit(self, decision: Decision) -> None:
        """Show ``decision``'s sample again; the sample that was on screen comes next."""
        c = self.controller
        if c.store is None or c.session is None:
            return
        if c.busy:
            c.refused.emit("Still saving the previous decision: choose it again")
            return
        c.runner.submit(
            revisit_item,
            c.store,
            decision.sample_id,
            c.annotator,
            c.session_id,
            on_done=lambda item: self._show(item, decision),
            on_error=lambda exc: c.message.emit(f"Cannot show {decision.external_id}: {exc}"),
        )

    def _show(self, item: Item, decision: Decision) -> None:
        c = self.controller
        if c.session is None or self._gone():
            return
        c.session.show_again(item)
        self._revisited.add(item.sample_id)
        c.itemShown.emit(c.session.current)
        self.revisited.emit(decision)

    def _saved(self, sample_id: int, _event_id: int) -> None:
        c = self.controller
        if sample_id in self._revisited and c.store is not None:
            # a changed decision: the session counted it as a new label; recount
            self._revisited.discard(sample_id)
            c.runner.submit(ops.counts, c.store, on_done=self._counted)

    def _counted(self, counts: Counts) -> None:
        c = self.controller
        if c.session is not None and not self._gone():
            c.session.counts = counts
            c.progressChanged.emit()
