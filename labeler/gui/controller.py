"""The annotate screen's controller: turns the annotator's commands into store operations on
the database worker and tells the views what changed, through signals on the GUI thread.

Order of a label: keypress -> ``label()`` -> the event is committed on the worker ->
``labelSaved`` -> the next (prefetched) sample becomes current -> ``itemShown``. Commands that
arrive while a commit is in flight are refused (the annotator has not seen the next sample
yet), so no keypress can label a sample that was never on screen.

Prefetching, refilling, the swap to each retrain's ranking and the team-mode claims live in
a :class:`labeler.gui.queue_feed.QueueFeed` the controller owns (``feed``, made when the
project is open). A timer polls the store every few seconds (``poll_ms``): the feed refills
an empty screen when colleagues free samples and renews this session's claims.

Faults (:mod:`labeler.gui.connection_state`, :mod:`labeler.gui.label_commits`): while the
database server is away the controller says so (``connectionChanged``), a label that could
not be saved says "not saved" in one line and is saved by the next key press or as soon as
the server answers (never twice), and the claims it could not give back at close are given
back at the next open. A sample brought back because its label was not saved refuses commands
for :data:`COMEBACK_GRACE_S`: a key pressed then was aimed at the sample shown before it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from labeler.app_settings import ProjectSettings
from labeler.errors import Cancelled
from labeler.gui import annotation_ops as ops
from labeler.gui.connection_state import ConnectionState
from labeler.gui.dialogs import describe
from labeler.gui.label_commits import LabelCommits, not_saved_line
from labeler.gui.model_watch import ModelWatch
from labeler.gui.queue_feed import LOW_WATER, PREFETCH, QueueFeed
from labeler.gui.retrain import RetrainBridge
from labeler.gui.session import AnnotationSession, Counts, Item, ModelStatus
from labeler.gui.store_guard import StoreGuard
from labeler.gui.tasks import TaskRunner
from labeler.gui.undo_redo import UndoRedo
from labeler.store import Store
from labeler.store.database import INTERACTIVE_TIMEOUTS, ServerTimeouts
from labeler.store.faults import server_address
from labeler.store.integrity import DamagedProject

log = logging.getLogger(__name__)


POLL_MS = 3000  # how often an open session looks at the store for colleagues' changes
# A sample brought back because its label was not saved takes no command for this long: a
# key pressed just after it appeared was meant for the sample shown before it.
COMEBACK_GRACE_S = 1.0


class AnnotationController(UndoRedo, QObject):
    projectOpened = Signal(object)  # ProjectOverview
    openFailed = Signal(str, str)  # message, details
    itemShown = Signal(object)  # Item, or None when nothing is left to label
    labelSaved = Signal(int, int)  # sample id, event id (committed)
    progressChanged = Signal()
    modelChanged = Signal(object)  # ModelStatus
    retrainingChanged = Signal(bool)
    retrainProgress = Signal(object)  # RetrainProgress: the running retrain's phase
    queueSwapped = Signal(int)  # model version of the new ranking
    flagChanged = Signal(int, bool, str)  # sample id, flagged, comment
    undone = Signal(int, str, object)  # sample id, action undone, its labels (tuple)
    message = Signal(str)  # transient status-bar text
    failure = Signal(str, str)  # one line, details (status bar, click for details)
    failureResolved = Signal(str)  # the failure with this one line is over (a later success)
    refused = Signal(str)  # a key arrived while the previous command was being saved
    storeHazard = Signal(str)  # SQLite's locks were lost in this process: close and reopen
    storeDamaged = Signal(str, str)  # database path, what is wrong: stop and offer a backup
    connectionChanged = Signal(str)  # "Reconnecting: ..." while the server is away, "" after

    def __init__(
        self,
        annotator: str,
        parent: QObject | None = None,
        *,
        retrainer_factory: Any = None,
        poll_ms: int = POLL_MS,
        timeouts: ServerTimeouts = INTERACTIVE_TIMEOUTS,
        feed_sizes: tuple[int, int] = (PREFETCH, LOW_WATER),
    ) -> None:
        super().__init__(parent)
        self._timeouts = timeouts
        self._feed_sizes = feed_sizes  # samples fetched ahead, refill below (QueueFeed)
        self.connection: ConnectionState | None = None  # made when the project is open
        self.commits: LabelCommits | None = None
        self.annotator = annotator
        self.session_id = uuid.uuid4().hex  # this open app: claims are held per session
        self.runner = TaskRunner(self)
        self.runner.failed.connect(self._on_task_failed)
        self._retrainer_factory = retrainer_factory
        self.retrainer: RetrainBridge | None = None
        self.store: Store | None = None  # used on the worker thread only
        self.overview: ops.ProjectOverview | None = None
        self.session: AnnotationSession | None = None
        self.feed: QueueFeed | None = None
        self.watch: ModelWatch | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self.poll)
        self._busy = False  # a command's commit is in flight
        # the sample whose decision is being committed is ``session.in_flight``; a skip?
        self._sending_skip = False
        # a skip whose answer may have been lost: (sample id, its time spent), sent again
        # as a retry by the next skip of that sample, so it is never recorded twice
        self._skip_attempt: tuple[int, int] | None = None
        self._came_back: tuple[int, float] | None = None  # (sample id, when) see _bring_back
        self._reset_reversals()
        self._labels_since_retrain = 0
        self._counts_stale = False  # counts may miss other annotators' labels: reload
        self._closed = False
        self.guard: StoreGuard | None = None  # SQLite projects: locks, integrity, backups

    # -- project lifecycle -------------------------------------------------------------

    def open(self, project: str) -> None:
        self.runner.submit(
            self._open_on_worker, project, on_done=self._opened, on_error=self._open_failed
        )

    def _open_on_worker(self, project: str) -> tuple[Store, ops.ProjectOverview]:
        store = ops.open_store(project, self._timeouts)
        try:
            ops.start_session(store, self.annotator, self.session_id)
            overview = ops.overview(store)
            if self._closed:  # the window closed the project while it was opening
                raise Cancelled("the project was closed while opening")
            return store, overview
        except BaseException:
            store.close()
            raise

    def _opened(self, result: tuple[Store, ops.ProjectOverview]) -> None:
        if self._closed:  # closed while it was opening
            result[0].close()
            return
        self.store, self.overview = result
        self._start_guard()
        self.session = AnnotationSession(self.overview.counts)
        self._reset_reversals()
        store = self.store
        server = None if store.location.is_sqlite else server_address(store.location.url)
        self.connection = ConnectionState(self.runner, lambda: ops.ping(store), self, server=server)
        self.connection.changed.connect(self.connectionChanged)
        self.connection.restored.connect(self._save_unsaved)
        self.commits = LabelCommits(
            self.runner, store, self.connection, lambda: self.annotator, self.session_id, self
        )
        self.commits.saved.connect(self._labeled)
        self.commits.failed.connect(self._label_failed)
        self.commits.notSaved.connect(self._not_saved)
        self.feed = QueueFeed(
            self.runner, store, self.session, self.annotator, self.session_id,
            self.connection, self._feed_sizes, self,
        )  # fmt: skip
        self.feed.itemShown.connect(self.itemShown)
        self.feed.queueSwapped.connect(self.queueSwapped)
        self.feed.failure.connect(self.failure)
        self.watch = ModelWatch(
            self.runner, self.store, self.overview.model, self._classes_labeled, self
        )
        self.watch.modelChanged.connect(self.modelChanged)
        self.watch.retrainingChanged.connect(self.retrainingChanged)
        self.watch.retrainProgress.connect(self.retrainProgress)
        self.watch.failureResolved.connect(self.failureResolved)
        self.watch.newRanking.connect(self._new_ranking)
        self.watch.message.connect(self.message)
        self.watch.failure.connect(self.failure)
        self.projectOpened.emit(self.overview)
        self.modelChanged.emit(self.model)
        self.progressChanged.emit()
        self._start_retrainer(self.overview.settings)
        self.feed.refill(force=True)
        self._poll.start()
        model = self.overview.model
        if self.retrainer is not None and (
            model.version is None or model.staleness(self.overview.counts.labeled) > 0
        ):
            self.request_retrain()  # a fresh queue for this session (cold start included)

    def _open_failed(self, exc: BaseException) -> None:
        if self._closed:
            return
        if isinstance(exc, DamagedProject):
            what = exc.problems[0].splitlines()[-1] if exc.problems else str(exc)
            self.storeDamaged.emit(str(exc.db_path), what)
            return
        self.openFailed.emit(*describe(exc))

    def _start_guard(self) -> None:
        assert self.store is not None
        self.guard = StoreGuard.for_store(self.store, self)
        if self.guard is not None:
            self.guard.hazard.connect(self._hazard)
            self.guard.damaged.connect(self._damaged)
            self.guard.start()

    def _hazard(self, message: str) -> None:
        self._busy = True  # no more commands until the window has reopened the project
        if self.retrainer is not None:
            self.retrainer.close()
            self.retrainer = None
        self.storeHazard.emit(message)

    def _damaged(self, db_path: str, what: str) -> None:
        self._busy = True  # stop writing
        self.storeDamaged.emit(db_path, what)

    def locks_ok(self) -> bool:
        """False (and ``storeHazard`` fired) if this process lost SQLite's locks."""
        return self.guard is None or self.guard.check_locks()

    def _start_retrainer(self, settings: ProjectSettings) -> None:
        if self.overview is None:
            return
        if self.retrainer is not None:
            self.retrainer.close()
        factory = self._retrainer_factory or RetrainBridge.create
        self.retrainer = factory(self.overview.location, settings, self)
        if self.retrainer is not None:
            self.retrainer.trainer = self.annotator  # recorded with its models
            if self.watch is not None:
                self.watch.follow(self.retrainer)  # the bar and messages, from its events
            self.retrainer.followedUp.connect(self._retrain_followed_up)
            if self.guard is not None:
                self.retrainer.finished.connect(self.guard.check_result)

    def request_retrain(self) -> bool:
        """Ask for a retrain, unless this process lost SQLite's locks (the worker process
        would then write beside us without coordination)."""
        if self.retrainer is None or not self.locks_ok():
            return False
        self.retrainer.request()
        return True

    def close(self) -> None:
        """Stop retraining, finish queued store calls, close the store."""
        self._closed = True
        if self.guard is not None:
            self.guard.close()
        self._poll.stop()
        if self.feed is not None:
            self.feed.close()
        if self.watch is not None:
            self.watch.close()
        if self.retrainer is not None:
            self.retrainer.close()
            self.retrainer = None
        store, self.store = self.store, None
        if store is not None:
            # give back the samples this session held, so colleagues get them at once (with
            # the server away: noted, and given back at the next open, without waiting here)
            away = self.connection is not None and self.connection.lost
            self.runner.submit(
                ops.release_on_close,
                store,
                self.annotator,
                self.session_id,
                away,
                on_error=lambda e: None,
            )
            self.runner.submit(store.close)
        if self.connection is not None:
            self.connection.close()
        self.runner.shutdown(wait=True)

    def set_annotator(self, name: str) -> None:
        """Record labels under ``name`` from now on. The samples this session holds move to
        the new name at once (otherwise the old name's claims would keep them from
        colleagues, and from this annotator's own queue, until they expire)."""
        if name == self.annotator:
            return
        old, self.annotator = self.annotator, name
        if self.feed is not None:
            self.feed.rename(old, name)
        if self.retrainer is not None:
            self.retrainer.trainer = name

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def reconnecting(self) -> str:
        """One line while the database server is away ("" while it answers)."""
        return self.connection.message if self.connection is not None else ""

    @property
    def fetching(self) -> bool:
        return self.feed is not None and self.feed.fetching

    @property
    def held_elsewhere(self) -> int:
        """Team mode, queue empty: samples colleagues hold that may still come to us."""
        return self.session.held_elsewhere if self.session else 0

    def unsaved_label(self) -> str | None:
        """One line naming a label the store has not saved and a close would lose: one kept
        after a failed save, or one on its way while the server is away. None otherwise (a
        commit in flight while the server answers is finished by :meth:`close`)."""
        kept = self.commits.unsaved if self.commits is not None else None
        current = self.current
        # a kept label is sent again only while its sample is on screen (LabelCommits)
        if kept is not None and current is not None and kept.item.sample_id == current.sample_id:
            labels = ", ".join(kept.labels)
            return f"The label {labels!r} of sample {kept.item.sample.external_id} is not saved"
        in_flight = self.session.in_flight if self.session is not None else None
        sending = None if self._sending_skip else in_flight  # a lost skip costs nothing
        # the server away, or slow to answer (not yet given up): the commit may never return
        if sending is not None and self.connection is not None and self.connection.message:
            return (
                f"The label of sample {sending.sample.external_id} is still on its way to a "
                "server that has not answered"
            )
        return None

    @property
    def current(self) -> Item | None:
        return self.session.current if self.session else None

    @property
    def labels_per_minute(self) -> float:
        return self.session.stats.labels_per_minute() if self.session else 0.0

    # -- commands ------------------------------------------------------------------------

    def _ready(self) -> Item | None:
        if self.session is None or self.store is None:
            return None
        if self._busy:
            self.refused.emit("Still saving the previous decision: press the key again")
            return None
        current = self.session.current
        back = self._came_back
        if current is not None and back is not None and back[0] == current.sample_id:
            if time.monotonic() - back[1] < COMEBACK_GRACE_S:
                self.refused.emit(
                    f"Sample {current.sample.external_id} came back (not saved): "
                    "look at it, then press the key again"
                )
                return None
            self._came_back = None
        return current

    def label(self, labels: Sequence[str]) -> bool:
        """Label the current sample. False if refused (nothing shown, or a commit in flight).

        The next sample shows at once, while the label commits on the database worker; the
        next command waits for that commit (``busy``), so a key bounce never labels the
        sample that just appeared. A label the store did not save brings its sample back
        (:meth:`_not_saved`, :meth:`_label_failed`)."""
        item = self._ready()
        if item is None or not labels:
            return False
        session, commits = self.session, self.commits
        assert session is not None and commits is not None
        self._busy = True
        self._sending_skip = False
        commits.commit(item, labels, session.elapsed_ms())
        session.sending(item)
        self._advance()
        return True

    def _bring_back(self, what: str = "label") -> None:
        """The label (or skip) in flight was not saved: its sample is shown again."""
        session = self.session
        item = session.in_flight if session is not None else None
        if item is None or session is None:
            return
        session.in_flight = None
        if session.current is None or session.current.sample_id != item.sample_id:
            # the screen changed without the annotator: a key already on its way (refused
            # as "press the key again" while the label was in flight) is not for this sample
            self._came_back = (item.sample_id, time.monotonic())
            session.show_again(item)
            self.itemShown.emit(session.current)
            self.message.emit(
                f"Sample {item.sample.external_id} is shown again: its {what} was not saved"
            )

    def _not_saved(self, line: str, details: str) -> None:
        self._busy = False  # the next key press on this sample sends the label again
        self._bring_back()
        self.failure.emit(line, details)

    def _label_failed(self, exc: BaseException) -> None:
        self._bring_back()
        self._command_failed(exc)

    def _save_unsaved(self) -> None:
        """The server answers again: save the label it did not confirm, if still shown."""
        if self.commits is not None and not self._busy and self.commits.retry_due(self.current):
            self._busy = True
            assert self.session is not None
            # seen by unsaved_label; the sample is on screen, so its claim is kept anyway
            self.session.in_flight, self._sending_skip = self.current, False
            self.commits.retry()

    def _labeled(self, item: Item, labels: list[str], event_id: int) -> None:
        session = self.session
        assert session is not None
        shown = session.current is not None and session.current.sample_id == item.sample_id
        session.record_label(item.sample_id, labels, item)
        session.decided("label", item.sample_id)
        self._busy = False
        self._confirmed(event_id)
        self.labelSaved.emit(item.sample_id, event_id)
        if shown:  # a kept label saved by a retry while its sample was on screen
            self._advance()
        self.progressChanged.emit()
        if self._counts_stale and self.store is not None:
            # Slower store reads run just after a keypress was served, while the annotator
            # reads the new sample, so they do not delay the next label's commit.
            self._counts_stale = False
            self.runner.submit(ops.counts, self.store, on_done=self._counts_loaded)
        self._labels_since_retrain += 1
        every = self.overview.settings.retrain_every if self.overview else 0
        if every and self._labels_since_retrain >= every and self.retrainer is not None:
            self._labels_since_retrain = 0
            self.request_retrain()

    def skip(self) -> bool:
        """Skip the current sample: like a label, the next sample shows at once while the
        skip commits, and a skip the store did not save brings its sample back."""
        item = self._ready()
        if item is None:
            return False
        session = self.session
        assert session is not None
        self._busy = True
        self._sending_skip = True
        attempt = self._skip_attempt
        retry = attempt is not None and attempt[0] == item.sample_id
        spent = attempt[1] if retry and attempt is not None else session.elapsed_ms()
        self._skip_attempt = None
        self.runner.submit(
            ops.commit_skip,
            self.store,
            item,
            self.annotator,
            spent,
            self.session_id,
            retry,
            on_done=lambda eid: self._skipped(item, eid),
            on_error=lambda exc: self._skip_failed(item, spent, exc),
        )
        session.sending(item)
        self._advance()
        return True

    def _skipped(self, item: Item, event_id: int) -> None:
        session = self.session
        assert session is not None
        shown = session.current is not None and session.current.sample_id == item.sample_id
        self._confirmed(event_id)
        session.record_skip(item.sample_id, item)
        session.decided("skip", item.sample_id)
        self._busy = False
        if shown:  # shown again meanwhile (a history revisit sent before the key): move on
            self._advance()
        self.progressChanged.emit()

    def _skip_failed(self, item: Item, spent: int, exc: BaseException) -> None:
        if not_saved_line("Change", exc) is not None:  # the server's: maybe committed
            self._skip_attempt = (item.sample_id, spent)
        self._bring_back("skip")
        self._command_failed(exc)

    def flag(self, comment: str) -> bool:
        """Flag the current sample with a comment; it stays on screen."""
        item = self._ready()
        if item is None:
            return False
        self._busy = True
        self.runner.submit(
            ops.commit_flag,
            self.store,
            item,
            self.annotator,
            comment,
            self.session_id,
            on_done=lambda eid: self._flagged(item, comment, eid),
            on_error=self._command_failed,
        )
        return True

    def _flagged(self, item: Item, comment: str, event_id: int) -> None:
        self._busy = False
        if self.session is not None:
            self.session.decided("flag", item.sample_id)
        self._confirmed(event_id)
        self.flagChanged.emit(item.sample_id, True, comment)
        self.message.emit(f"Flagged sample {item.sample.external_id}")

    def _command_failed(self, exc: BaseException) -> None:
        self._busy = False
        line = not_saved_line("Change", exc)  # skip, flag, undo, redo: said plainly
        if line is not None and self.connection is not None:
            self.failure.emit(line, describe(exc)[1])
            self.connection.report(exc)
            return
        self.failure.emit(*describe(exc))
        if self.guard is not None:
            self.guard.check_after_error(str(exc))

    def _on_task_failed(self, exc: BaseException) -> None:
        if self.connection is not None and self.connection.report(exc):
            return  # a read (counts, model) the server did not answer: the banner says so
        self.failure.emit(*describe(exc))
        if self.guard is not None:
            self.guard.check_after_error(str(exc))

    def _advance(self) -> None:
        if self.feed is not None:
            self.feed.next()

    def poll(self) -> None:
        """Look at the store for colleagues' changes (the timer calls this)."""
        if self.feed is not None and not self._closed:
            self.feed.poll()
        away = self.connection is not None and self.connection.lost  # it probes meanwhile
        if self.watch is not None and not self._closed and not away:
            self.watch.poll()

    def reload(self) -> None:
        """Re-read counts and refill the queue (after an import added samples)."""
        if self.store is None or self.feed is None:
            return
        self.runner.submit(ops.counts, self.store, on_done=self._counts_loaded)
        self.feed.reload()

    def _counts_loaded(self, counts: Counts) -> None:
        if self.session is not None:
            self.session.counts = counts
            self.progressChanged.emit()

    # -- retraining ----------------------------------------------------------------------

    def retrain_now(self) -> bool:
        if self.retrainer is None:
            self.message.emit("Retraining is not available")
            return False
        self._labels_since_retrain = 0
        return self.request_retrain()

    def _retrain_followed_up(self, after: Any) -> None:
        """A retrain's MLflow tracking and drift checks ended: a failure is one warning."""
        for warning in getattr(after, "warnings", ()):
            self.message.emit(f"Warning: {warning}")

    def _new_ranking(self) -> None:
        if self.feed is not None:
            self.feed.swap()
        self._counts_stale = True  # recounted right after the next commit (see _labeled)

    @property
    def model(self) -> ModelStatus | None:
        return self.watch.model if self.watch is not None else None

    @property
    def cold_start(self) -> bool:
        """No model yet and fewer than two classes labeled: retrains cannot fit anything."""
        return self.watch.cold_start if self.watch is not None else True

    def _classes_labeled(self) -> int:
        counts = self.session.counts.per_class if self.session else {}
        return sum(1 for n in counts.values() if n > 0)

    # -- settings ------------------------------------------------------------------------

    def apply_project_settings(self, settings: ProjectSettings) -> None:
        if self.store is None:
            return
        self.runner.submit(
            ops.save_project_settings, self.store, settings, on_done=self._settings_saved
        )

    def _settings_saved(self, overview: ops.ProjectOverview) -> None:
        self.overview = overview  # the next retrain reads the new settings from the project
        self.message.emit("Project settings saved")
