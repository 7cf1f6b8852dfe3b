"""Committing the annotator's labels, and keeping the one the server did not confirm.

:class:`LabelCommits` is an object the annotate controller owns. ``commit`` sends a label to
the database worker. When it fails because of the server
(:func:`labeler.store.faults.server_problem`), or the disk of an SQLite project
(:func:`~labeler.store.faults.storage_problem`), the label is kept (:class:`UnsavedLabel`),
``notSaved`` says so in one line without driver text, and the session's
:class:`~labeler.gui.connection_state.ConnectionState` starts probing. The kept label is sent
again by the next key press on the same sample, or by the controller as soon as the server
answers (``retry``). A retry sends the first attempt's values with ``retry=True``: if that
attempt was committed after all (its answer was lost), the store returns its event instead
of writing a second one (:meth:`labeler.store.labels.LabelLog.add`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from labeler.gui import annotation_ops as ops
from labeler.gui.connection_state import ConnectionState
from labeler.gui.dialogs import describe
from labeler.gui.session import Item
from labeler.gui.tasks import TaskRunner
from labeler.store import Store
from labeler.store.faults import server_problem, storage_problem


@dataclass(frozen=True)
class UnsavedLabel:
    """A label attempt: the sample, the labels and the time spent it sends."""

    item: Item
    labels: tuple[str, ...]
    time_spent_ms: int


def not_saved_line(what: str, exc: BaseException) -> str | None:
    """One line for a command that failed because of the server or the disk of an SQLite
    project (None for other errors)."""
    problem = server_problem(exc)
    if problem is not None and what == "Label":
        return (
            f"Label not saved: {problem}. It is saved when the server answers again "
            "(or press the key again)."
        )
    if problem is not None:
        return f"{what} not saved: {problem}. Try again when the server answers."
    problem = storage_problem(exc)
    if problem is not None:
        return f"{what} not saved: {problem}. Press the key again to retry."
    return None


class LabelCommits(QObject):
    saved = Signal(object, object, int)  # Item, list of labels, event id (committed)
    failed = Signal(object)  # BaseException: any error not caused by the server
    notSaved = Signal(str, str)  # one line, details: kept for a retry

    def __init__(
        self,
        runner: TaskRunner,
        store: Store,
        connection: ConnectionState,
        annotator: Callable[[], str],
        session_id: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._store = store
        self._connection = connection
        self._annotator = annotator
        self._session_id = session_id
        self.unsaved: UnsavedLabel | None = None

    def commit(self, item: Item, labels: Sequence[str], time_spent_ms: int) -> None:
        """Send a label; the same sample's unsaved label is superseded, as a retry."""
        kept = self.unsaved
        if kept is not None and kept.item.sample_id == item.sample_id:
            self._send(UnsavedLabel(item, tuple(labels), kept.time_spent_ms), retry=True)
        else:
            self._send(UnsavedLabel(item, tuple(labels), time_spent_ms), retry=False)

    def retry_due(self, current: Item | None) -> bool:
        """True when a label is kept for ``current`` (the sample on screen); a label kept
        for a sample no longer shown (undo, another command) is dropped."""
        kept = self.unsaved
        if kept is None:
            return False
        if current is None or current.sample_id != kept.item.sample_id:
            self.unsaved = None
            return False
        return True

    def retry(self) -> None:
        if self.unsaved is not None:
            self._send(self.unsaved, retry=True)

    def _send(self, attempt: UnsavedLabel, *, retry: bool) -> None:
        self.unsaved = None
        chosen = list(attempt.labels)
        self._runner.submit(
            ops.commit_label,
            self._store,
            attempt.item,
            chosen,
            self._annotator(),
            attempt.time_spent_ms,
            self._session_id,
            retry,
            on_done=lambda eid: self._saved(attempt.item, chosen, eid),
            on_error=lambda exc: self._failed(attempt, exc),
        )

    def _saved(self, item: Item, labels: list[str], event_id: int) -> None:
        self._connection.succeeded()
        self.saved.emit(item, labels, event_id)

    def _failed(self, attempt: UnsavedLabel, exc: BaseException) -> None:
        line = not_saved_line("Label", exc)
        if line is None:
            self.failed.emit(exc)
            return
        self.unsaved = attempt  # saved by the next key press, or when the server is back
        self.notSaved.emit(line, describe(exc)[1])
        self._connection.report(exc)
