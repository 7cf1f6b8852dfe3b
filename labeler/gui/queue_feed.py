"""Keeping the annotate queue fed: prefetching the next samples, refilling when few are left,
swapping in a new ranking, and, in a team, refilling after colleagues free samples.

:class:`QueueFeed` is an object the annotate controller owns, with its own state (the fetch
in flight, the queue generation, the claims heartbeat). It runs on the GUI thread; its store
calls go to the controller's one database worker (``TaskRunner``), in order with the labels.

Team mode: every fetch claims its samples for this annotator and app session
(:func:`labeler.gui.annotation_ops.fetch`, which asks again when it loses a claim race), so
"nothing left" is shown only when the store has no unlabeled sample that no one else holds.
:meth:`QueueFeed.poll` (called every few seconds) refills an empty screen when colleagues
release samples or their claims expire, and renews this session's claims once a minute.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from labeler.gui import annotation_ops as ops
from labeler.gui.dialogs import describe
from labeler.gui.session import AnnotationSession
from labeler.gui.tasks import TaskRunner
from labeler.store import Store

PREFETCH = 20  # samples fetched ahead
LOW_WATER = 8  # refill when fewer than this many are waiting
RENEW_EVERY_S = 60.0  # claims heartbeat (see labeler.store.claims.DEAD_AFTER_S)


class QueueFeed(QObject):
    """The queue of one annotate session (see the module docstring)."""

    itemShown = Signal(object)  # Item, or None when nothing is left to label
    queueSwapped = Signal(int)  # model version of the new ranking (0: none)
    failure = Signal(str, str)  # one line, details

    def __init__(
        self,
        runner: TaskRunner,
        store: Store,
        session: AnnotationSession,
        annotator: str,
        session_id: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._store: Store | None = store
        self.session = session
        self.annotator = annotator
        self.session_id = session_id
        self._fetching = False
        self._generation = 0  # bumped when the queue is swapped; older fetches are dropped
        self._renewed_at = time.monotonic()

    @property
    def fetching(self) -> bool:
        return self._fetching

    def close(self) -> None:
        """No store calls from now on (the controller releases the claims itself)."""
        self._store = None

    # -- the queue -----------------------------------------------------------------------

    def next(self) -> None:
        """Show the next waiting sample (None: "loading" while fetching, else "done")."""
        self.itemShown.emit(self.session.advance())
        self.refill()

    def refill(self, force: bool = False) -> None:
        if self._store is None or self._fetching:
            return
        if not force and not self.session.needs_refill(LOW_WATER):
            return
        self._fetching = True
        generation = self._generation
        self._runner.submit(
            ops.fetch,
            self._store,
            PREFETCH,
            frozenset(self.session.known_ids()),
            self.annotator,
            self.session_id,
            on_done=lambda fetched: self._fetched(fetched, generation),
            on_error=self._fetch_failed,
        )

    def _fetched(self, fetched: ops.Fetched, generation: int) -> None:
        self._fetching = False
        session = self.session
        if generation == self._generation:
            session.extend(fetched.items)
            session.exhausted = fetched.exhausted
        if session.current is None and (session.upcoming or session.exhausted):
            self.itemShown.emit(session.advance())
        elif session.needs_refill(LOW_WATER):
            self.refill()  # lost every claim race, or a swap made this batch stale: again

    def _fetch_failed(self, exc: BaseException) -> None:
        self._fetching = False
        self.failure.emit(*describe(exc))

    def swap(self) -> None:
        """Fetch the store's current ranking and swap it in; the sample on screen stays."""
        if self._store is None:
            return
        self._generation += 1
        generation = self._generation
        exclude = set(self.session.done_ids)
        if self.session.current is not None:
            exclude.add(self.session.current.sample_id)
        self._runner.submit(
            ops.fetch,
            self._store,
            PREFETCH,
            frozenset(exclude),
            self.annotator,
            self.session_id,
            on_done=lambda fetched: self._swapped(fetched, generation),
            on_error=self._fetch_failed,
        )

    def _swapped(self, fetched: ops.Fetched, generation: int) -> None:
        session = self.session
        if generation != self._generation:
            return
        before = {i.sample_id for i in session.upcoming}
        session.replace_upcoming(fetched.items)
        dropped = before - session.known_ids()
        if dropped and self._store is not None:  # colleagues may have them at once
            self._runner.submit(
                ops.release_claims,
                self._store,
                self.annotator,
                self.session_id,
                frozenset(dropped),
                on_error=self._fetch_failed,
            )
        session.exhausted = fetched.exhausted and not fetched.items
        version = fetched.items[0].provenance.model_version if fetched.items else None
        self.queueSwapped.emit(version or 0)
        if session.current is None and session.upcoming:
            self.itemShown.emit(session.advance())

    def reload(self) -> None:
        """Look for samples again (after an import added some)."""
        self.session.exhausted = False
        self.refill(force=True)

    # -- team mode -------------------------------------------------------------------------

    def poll(self) -> None:
        """Called every few seconds: an empty screen looks for samples colleagues freed; once
        a minute the claims on the samples shown or waiting are renewed and any others this
        session still holds (skipped ones) are given back."""
        if self._store is None:
            return
        session = self.session
        if session.current is None and not session.upcoming:
            self.refill(force=True)
        if time.monotonic() - self._renewed_at >= RENEW_EVERY_S:
            self._renewed_at = time.monotonic()
            showing = {i.sample_id for i in session.upcoming}
            if session.current is not None:
                showing.add(session.current.sample_id)
            self._runner.submit(
                ops.renew_claims,
                self._store,
                self.annotator,
                self.session_id,
                frozenset(showing),
                on_error=self._fetch_failed,
            )

    def rename(self, old: str, new: str) -> None:
        """Label as ``new`` from now on; the samples this session holds move to ``new`` at
        once (on the worker, after any fetch already queued for ``old``)."""
        self.annotator = new
        if self._store is not None:
            self._runner.submit(
                ops.hand_over_claims,
                self._store,
                old,
                new,
                self.session_id,
                on_error=self._fetch_failed,
            )
