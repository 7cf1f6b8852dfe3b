"""The adjudication queue tab: samples whose annotators disagree, each annotator's label, the
majority, and the reviewer's decision, settled from the keyboard.

| key | does |
|---|---|
| Up/Down | next / previous disagreement (its sample shows in the detail panel; entering the tab selects the first) |
| a label's key | single-label: adjudicate as that label at once; multi-label: toggle it in the decision |
| Enter | adjudicate with the decision (the majority until changed; empty on a tie) |

An adjudicated row leaves the table at once and the next one is selected, so a reviewer
works through the queue with one key per sample. The panel only shows and asks; the
:class:`~labeler.gui.review.team_tabs.TeamTabs` records the adjudication events.
"""

from __future__ import annotations

from collections.abc import Collection

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QTableWidget, QVBoxLayout, QWidget

from labeler.gui.review.stats_panels import fill_table, make_table
from labeler.review.adjudication import AdjudicationItem, AdjudicationQueue

KEYS_HELP = (
    "Keys: ↑↓ move · a label's key adjudicates as that label (multi-label: toggles it in the "
    "decision) · Enter adjudicates with the decision (the majority; on a tie, choose a label)"
)
COLUMNS = ["ID", "sample", "annotators' labels", "majority", "decision"]


def answers_text(item: AdjudicationItem) -> str:
    return " · ".join(f"{who}: {', '.join(labels)}" for who, labels in item.answers)


def majority_text(item: AdjudicationItem) -> str:
    labels = ", ".join(item.majority)
    return "tie" if item.tie else labels


class AdjudicationPanel(QWidget):
    """Shows an :class:`~labeler.review.adjudication.AdjudicationQueue`; emits decisions."""

    adjudicateRequested = Signal(int, list)  # sample id, final labels
    sampleActivated = Signal(int)  # the selected row's sample, for the detail panel

    def __init__(
        self,
        shortcuts: dict[str, str],  # key -> label name
        multi_label: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("adjudicationPanel")
        self.shortcuts = {k.lower(): name for k, name in shortcuts.items() if k}
        self.multi_label = multi_label
        layout = QVBoxLayout(self)
        self.headline = QLabel("Loading the disagreements…", objectName="adjudicationHeadline")
        self.headline.setWordWrap(True)
        layout.addWidget(self.headline)
        self.table: QTableWidget = make_table(COLUMNS, "adjudicationTable")
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        layout.addWidget(self.table, 1)
        labels = " · ".join(f"{key} {name}" for key, name in self.shortcuts.items())
        keys = QLabel(f"Label keys: {labels}. {KEYS_HELP}", objectName="adjudicationKeys")
        keys.setWordWrap(True)
        keys.setStyleSheet("color: palette(mid);")
        layout.addWidget(keys)
        self.items: list[AdjudicationItem] = []
        self.decisions: dict[int, tuple[str, ...]] = {}
        self.total = 0
        self.table.installEventFilter(self)
        self.table.itemSelectionChanged.connect(self._selected)

    # -- showing -----------------------------------------------------------------------------

    def show_queue(self, queue: AdjudicationQueue, hide: Collection[int] = ()) -> None:
        """Show ``queue`` without the samples in ``hide`` (adjudications being recorded); the
        reviewer's place (the selected sample) is kept if still listed."""
        keep = self.selected_id()
        self.items = [i for i in queue.items if i.sample_id not in hide]
        self.total = queue.total - (len(queue.items) - len(self.items))
        self.decisions = {
            i.sample_id: self.decisions.get(i.sample_id, () if i.tie else i.majority)
            for i in self.items
        }
        self._fill()
        ids = [i.sample_id for i in self.items]
        if keep in ids:
            self.table.selectRow(ids.index(keep))
        elif self.items and self.isVisible():
            self.table.selectRow(0)

    def _fill(self) -> None:
        fill_table(
            self.table,
            [
                (
                    i.external_id,
                    i.preview,
                    answers_text(i),
                    majority_text(i),
                    ", ".join(self.decisions[i.sample_id]),
                )
                for i in self.items
            ],
        )
        self._tooltips()
        self._headline()

    def _tooltips(self) -> None:
        for row, item in enumerate(self.items):
            cell = self.table.item(row, 3)
            if item.tie and cell is not None:
                cell.setToolTip(
                    f"No majority; a --policy majority export takes the latest: "
                    f"{', '.join(item.majority)}"
                )

    def _headline(self) -> None:
        shown = len(self.items)
        if self.total == 0:
            self.headline.setText(
                "No open disagreements: every sample that several annotators labeled agrees "
                "or was adjudicated."
            )
        else:
            more = f" (the first {shown} shown)" if shown < self.total else ""
            self.headline.setText(
                f"<b>{self.total}</b> samples where annotators disagree{more}. Select one and "
                "press the key of the label to keep, or Enter to keep the decision column "
                "(the majority, where there is one)."
            )

    # -- keys --------------------------------------------------------------------------------

    def selected_id(self) -> int | None:
        row = self.table.currentRow()
        return self.items[row].sample_id if 0 <= row < len(self.items) else None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.table and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            return self.handle_key(event)
        return False

    def handle_key(self, event: QKeyEvent) -> bool:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods not in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier):
            return False
        text = event.text().lower()
        if text and text in self.shortcuts:
            self._label_key(self.shortcuts[text])
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            sid = self.selected_id()
            if sid is not None and self.decisions.get(sid):
                self._decide(sid, self.decisions[sid])
            elif sid is not None:
                self.headline.setText("A tie: press the key of the label to keep.")
        else:
            return False
        return True

    def _label_key(self, name: str) -> None:
        sid = self.selected_id()
        if sid is None:
            return
        if not self.multi_label:
            self._decide(sid, (name,))
            return
        chosen = set(self.decisions.get(sid, ())) ^ {name}
        order = {n: i for i, n in enumerate(self.shortcuts.values())}
        self.decisions[sid] = tuple(sorted(chosen, key=lambda n: order.get(n, 0)))
        row = self.table.currentRow()
        item = self.table.item(row, len(COLUMNS) - 1)
        if item is not None:
            item.setText(", ".join(self.decisions[sid]))

    def _decide(self, sample_id: int, labels: tuple[str, ...]) -> None:
        """Take the row out at once, select the next one, and ask for the event."""
        row = next(i for i, it in enumerate(self.items) if it.sample_id == sample_id)
        del self.items[row]
        self.decisions.pop(sample_id, None)
        self.total = max(0, self.total - 1)
        self.table.removeRow(row)
        self._headline()
        if self.items:
            self.table.selectRow(min(row, len(self.items) - 1))
        self.adjudicateRequested.emit(sample_id, list(labels))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """Entering the tab selects the current disagreement, so its sample shows and a key
        acts on what is highlighted."""
        super().showEvent(event)
        if self.items and not self.table.selectedIndexes():
            self.table.selectRow(max(self.table.currentRow(), 0))
        self.table.setFocus()

    def _selected(self) -> None:
        sid = self.selected_id()
        if sid is not None and self.table.selectedIndexes():
            self.sampleActivated.emit(sid)
