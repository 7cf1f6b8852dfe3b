"""Undo and redo of the annotate controller (a mixin of
:class:`labeler.gui.controller.AnnotationController`, kept apart to keep each file small).

An undo shows the sample it will most likely bring back at once (the session's last labeled
or skipped sample), while the store undoes on the database worker; when the store's answer
names another decision, the screen is corrected (:meth:`UndoRedo._settle_guess`). An undo or
redo whose answer was lost (the server went away after committing it) is "in doubt": the
next press is sent as a retry, which finds the committed change instead of doing it twice.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from labeler.gui import annotation_ops as ops
from labeler.gui.label_commits import not_saved_line
from labeler.gui.session import Item

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from labeler.gui.session import AnnotationSession
    from labeler.gui.tasks import TaskRunner
    from labeler.store import Store


class UndoRedo:
    """Undo, redo and their in-flight state; the controller provides the rest."""

    if TYPE_CHECKING:  # provided by AnnotationController
        store: Store | None
        session: AnnotationSession | None
        runner: TaskRunner
        annotator: str
        session_id: str
        _busy: bool
        refused: SignalInstance
        itemShown: SignalInstance
        message: SignalInstance
        undone: SignalInstance
        flagChanged: SignalInstance
        progressChanged: SignalInstance

        def _advance(self) -> None: ...

        def _command_failed(self, exc: BaseException) -> None: ...

    def _reset_reversals(self) -> None:
        # an undo shown before the store answered: (the sample shown again, the one before)
        self._guessed: tuple[Item, Item | None] | None = None
        self._last_event = 0  # this session's newest event the store confirmed
        self._in_doubt: str | None = None  # "undo"/"redo" whose answer was lost

    def undo(self) -> bool:
        known = self.session.recent_items() if self.session is not None else {}
        return self._reverse(ops.undo, "undo", known)

    def redo(self) -> bool:
        return self._reverse(ops.redo, "redo")

    def _confirmed(self, event_id: int) -> None:
        """The store confirmed this session's event ``event_id``: an undo or redo whose answer
        was lost before it is no longer in doubt."""
        self._last_event = max(self._last_event, int(event_id))
        self._in_doubt = None

    def _reverse(self, fn: Any, what: str, *extra: Any) -> bool:
        if self.store is None or self.session is None:
            return False
        if self._busy:
            self.refused.emit(f"Still saving the previous decision: press {what} again")
            return False
        self._busy = True
        if what == "undo":
            self._show_undo_guess()
        self.runner.submit(
            fn,
            self.store,
            self.annotator,
            self.session_id,
            # an undo (redo) whose answer was lost is sent as a retry: never undone twice
            self._last_event if self._in_doubt == what else None,
            *extra,
            on_done=lambda r: self._reversed(r, what),
            on_error=lambda exc: self._reverse_failed(what, exc),
        )
        return True

    def _show_undo_guess(self) -> None:
        """Show the sample the undo will most likely bring back at once, while the store
        undoes; :meth:`_settle_guess` corrects the screen if it reverted something else."""
        session = self.session
        item = session.undo_guess() if session is not None and self._in_doubt is None else None
        if session is None or item is None:
            return
        self._guessed = (item, session.current)
        session.show_again(item)
        self.itemShown.emit(item)

    def _settle_guess(self, shown: Item | None) -> bool:
        """The undo's answer: ``shown`` is the sample it brought back (None: none). True if
        the guess already shows it; otherwise the guess is taken back."""
        guessed, self._guessed = self._guessed, None
        if guessed is None or self.session is None:
            return False
        if shown is not None and guessed[0].sample_id == shown.sample_id:
            return True
        before = self.session.current
        self.session.take_back(*guessed)
        if shown is None and self.session.current is not before:
            self.itemShown.emit(self.session.current)
        return False

    def _reverse_failed(self, what: str, exc: BaseException) -> None:
        if what == "undo":
            self._settle_guess(None)
        if not_saved_line("Change", exc) is not None:
            self._in_doubt = what  # it may have been committed: the next press checks
        self._command_failed(exc)

    def _reversed(self, result: ops.Reversal, what: str) -> None:
        session = self.session
        assert session is not None
        self._busy = False
        self._in_doubt = None
        if result.reverted is not None:
            self._confirmed(result.reverted.event_id)
        if result.reverted is None:
            if what == "undo":
                session.forget_decisions()
                self._settle_guess(None)
            session.counts = result.counts
            self.message.emit(f"Nothing to {what}")
            return
        target = result.reverted.target
        if what == "undo":
            session.record_undo(target.action, result.counts)
            session.undone(target.sample_id)
            back = result.item if target.action in ("label", "skip") else None
            guessed = self._settle_guess(back)
            # the screen shows ``back`` from here on (at once when guessed, just below when
            # not), so the note the view writes on ``undone`` is about the sample shown
            self.undone.emit(target.sample_id, target.action, tuple(target.labels or ()))
            if target.action == "flag":
                self.flagChanged.emit(target.sample_id, False, "")
            elif result.item is not None and not guessed:
                session.show_again(result.item)
                self.itemShown.emit(session.current)
            name = result.item.sample.external_id if result.item is not None else None
            what_label = f" ({', '.join(target.labels)})" if target.labels else ""
            self.message.emit(
                f"Undid {target.action}{what_label} of {name or f'sample #{target.sample_id}'}"
            )
        else:
            session.counts = result.counts
            if target.action == "flag":
                self.flagChanged.emit(target.sample_id, True, target.comment or "")
            if target.action in ("label", "skip", "flag"):
                session.decided(target.action, target.sample_id)
            if target.action in ("label", "skip"):
                if target.action == "label":
                    session.stats.labels += 1
                else:
                    session.stats.skips += 1
                session.done_ids.add(target.sample_id)
                # decided again: never shown again (a revisit may have queued it)
                session.upcoming = deque(
                    i for i in session.upcoming if i.sample_id != target.sample_id
                )
                if session.current is not None and session.current.sample_id == target.sample_id:
                    self._advance()
            self.message.emit(f"Redid {target.action} of sample {target.sample_id}")
        self.progressChanged.emit()
