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

Faults: a fetch that fails is never the end of the queue. When the database server is the
cause, the feed reports it to the session's :class:`~labeler.gui.connection_state.ConnectionState`
and fetches again as soon as that says the server is back (it probes with backoff); any other
failure is shown and the fetch retried with the same backoff. Meanwhile ``fetching`` stays
true, so an empty screen says "reconnecting"/"loading", never "nothing left".
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from labeler.gui import annotation_ops as ops
from labeler.gui.connection_state import BACKOFF_S, ConnectionState
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
        connection: ConnectionState | None = None,
        sizes: tuple[int, int] = (PREFETCH, LOW_WATER),
        parent: QObject | None = None,
    ) -> None:
        """``sizes``: how many samples a fetch asks for, and how few waiting make it refill."""
        super().__init__(parent)
        self._runner = runner
        self._store: Store | None = store
        self.session = session
        self.annotator = annotator
        self.session_id = session_id
        self.prefetch, self.low_water = sizes
        self._fetching = False
        self._generation = 0  # bumped when the queue is swapped; older fetches are dropped
        self._renewed_at = time.monotonic()
        self._swaps = 0  # swap fetches whose results the GUI thread has not taken in yet
        self._release_due = False  # a heartbeat renewed without giving back unneeded claims
        self._connection = connection or ConnectionState(runner, lambda: ops.ping(store), self)
        self._connection.restored.connect(self._fetch_again)
        self._swap_due = False  # a swap failed: swap (not only refill) when the server is back
        self._failures = 0  # fetches failed in a row for a reason other than the server
        self._retry = QTimer(self, singleShot=True)
        self._retry.timeout.connect(self._fetch_again)

    @property
    def fetching(self) -> bool:
        """A fetch is under way or due (the server is away, or a retry is scheduled): an empty
        screen means "wait", not "done"."""
        return self._fetching or self._connection.lost or self._retry.isActive()

    def close(self) -> None:
        """No store calls from now on (the controller releases the claims itself)."""
        self._store = None
        self._retry.stop()

    # -- the queue -----------------------------------------------------------------------

    def next(self) -> None:
        """Show the next waiting sample (None: "loading" while fetching, else "done"). The
        refill starts first, so an empty screen is never taken for "done" meanwhile."""
        item = self.session.advance()
        self.refill()
        self.itemShown.emit(item)

    def refill(self, force: bool = False) -> None:
        if self._store is None or self._fetching or self._connection.lost:
            return  # while the server is away the fetch waits for ``restored``
        if not force and not self.session.needs_refill(self.low_water):
            return
        self._fetching = True
        generation = self._generation
        self._runner.submit(
            ops.fetch,
            self._store,
            self.prefetch,
            frozenset(self.session.known_ids()),
            self.annotator,
            self.session_id,
            on_done=lambda fetched: self._fetched(fetched, generation),
            on_error=self._fetch_failed,
        )

    def _fetched(self, fetched: ops.Fetched, generation: int) -> None:
        self._fetching = False
        self._failures = 0
        session = self.session
        if generation == self._generation:
            session.extend(fetched.items)
            session.exhausted = fetched.exhausted
            session.held_elsewhere = fetched.held_elsewhere
        if session.current is None and (session.upcoming or session.exhausted):
            self.itemShown.emit(session.advance())
        elif session.needs_refill(self.low_water):
            self.refill()  # lost every claim race, or a swap made this batch stale: again
        self._connection.succeeded()

    def _fetch_failed(self, exc: BaseException) -> None:
        self._fetching = False
        self._again_later(exc)

    def _swap_failed(self, exc: BaseException) -> None:
        self._swaps -= 1
        self._swap_due = True
        self._again_later(exc)

    def _again_later(self, exc: BaseException) -> None:
        """A fetch or swap failed: again once the server is back, or after a backoff for any
        other error (shown once per run of failures)."""
        if self._store is None or self._connection.report(exc):
            return
        if self._failures == 0:
            self.failure.emit(*describe(exc))
        self._retry.start(int(1000 * BACKOFF_S[min(self._failures, len(BACKOFF_S) - 1)]))
        self._failures += 1

    def _fetch_again(self) -> None:
        if self._store is None:
            return
        if self._swap_due:
            self.swap()
        elif self.session.current is None and not self.session.upcoming:
            self.refill(force=True)
        else:
            self.refill()

    def _side_failed(self, exc: BaseException) -> None:
        """A claims call (renew, release, hand-over) failed: the server state is shown; the
        next heartbeat or the next open tidies the claims up."""
        if not self._connection.report(exc):
            self.failure.emit(*describe(exc))

    def swap(self) -> None:
        """Fetch the store's current ranking and swap it in; the sample on screen stays."""
        if self._store is None:
            return
        if self._connection.lost:
            self._swap_due = True  # done when the server is back
            return
        self._swap_due = False
        self._swaps += 1
        self._generation += 1
        generation = self._generation
        exclude = set(self.session.done_ids)
        if self.session.current is not None:
            exclude.add(self.session.current.sample_id)
        self._runner.submit(
            ops.fetch,
            self._store,
            self.prefetch,
            frozenset(exclude),
            self.annotator,
            self.session_id,
            on_done=lambda fetched: self._swapped(fetched, generation),
            on_error=self._swap_failed,
        )

    def _swapped(self, fetched: ops.Fetched, generation: int) -> None:
        self._swaps -= 1
        session = self.session
        if generation != self._generation:
            self._connection.succeeded()
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
                on_error=self._side_failed,
            )
        session.exhausted = fetched.exhausted and not fetched.items
        session.held_elsewhere = fetched.held_elsewhere
        version = fetched.items[0].provenance.model_version if fetched.items else None
        self.queueSwapped.emit(version or 0)
        if session.current is None and session.upcoming:
            self.itemShown.emit(session.advance())
        self._connection.succeeded()

    def reload(self) -> None:
        """Look for samples again (after an import added some)."""
        self.session.exhausted = False
        self.refill(force=True)

    # -- team mode -------------------------------------------------------------------------

    def poll(self) -> None:
        """Called every few seconds: an empty screen looks for samples colleagues freed; once
        a minute the claims on the samples shown or waiting are renewed and any others this
        session still holds (skipped ones) are given back.

        Others are given back only while no fetch is under way: a fetch on the worker claims
        samples this list cannot know yet (they reach the queue when the fetch is done), and
        the heartbeat runs after it. Otherwise the heartbeat only renews, and the giving back
        is done at the first poll with no fetch under way."""
        if self._store is None or self._connection.lost:
            return  # the connection state probes the server meanwhile
        session = self.session
        if session.current is None and not session.upcoming:
            self.refill(force=True)
        idle = not self._fetching and not self._swaps
        due = time.monotonic() - self._renewed_at >= RENEW_EVERY_S
        if due or (self._release_due and idle):
            self._renewed_at = time.monotonic()
            self._release_due = not idle
            showing = {i.sample_id for i in session.upcoming}
            if session.in_flight is not None:  # its label is being saved: keep its claim
                showing.add(session.in_flight.sample_id)
            if session.current is not None:
                showing.add(session.current.sample_id)
            self._runner.submit(
                ops.renew_claims,
                self._store,
                self.annotator,
                self.session_id,
                frozenset(showing) if idle else None,
                on_error=self._side_failed,
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
                on_error=self._side_failed,
            )
