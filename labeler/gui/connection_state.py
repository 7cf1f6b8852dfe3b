"""Whether the annotate session's database server answers, and what to do while it does not.

:class:`ConnectionState` is an object the controller owns. Any store call of the session that
fails because the PostgreSQL server is unreachable, gone or frozen
(:func:`labeler.store.faults.server_problem`) is ``report``-ed to it: it says so at once
(``changed``: one line, "Reconnecting: ...", or "Retrying: ..." for a server that answers but
cannot do the work: out of disk, a timeout), then probes the server with a cheap query after
0.5, 1, 2, 4, 8, 10, 10 ... s. The first call that succeeds, a probe or any other, clears the
state (``changed("")``) and fires ``restored``: the queue feed fetches what it could not, the
controller saves the label it could not (:mod:`labeler.gui.label_commits`). Nothing is
retried by hand, and the screen never says "nothing left" while the server is away.

Before a call fails (a frozen server is only given up after the connection's answer deadline,
``labeler.store.database.INTERACTIVE_TIMEOUTS``), a call on the session's database worker that
has had no answer for ``SLOW_S`` already says so ("Waiting for the database server ...").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from labeler.gui.tasks import TaskRunner
from labeler.store.faults import server_problem

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 10.0)  # between probes; the last repeats
SLOW_S = 5.0  # a call unanswered this long is shown as waiting for the server


class ConnectionState(QObject):
    changed = Signal(str)  # one line while the server is away; "" once it answers again
    restored = Signal()

    def __init__(
        self,
        runner: TaskRunner,
        probe: Callable[[], Any],
        parent: QObject | None = None,
        *,
        server: str | None = None,
        backoff_s: Sequence[float] = BACKOFF_S,
        slow_s: float = SLOW_S,
    ) -> None:
        """``server``: the PostgreSQL server as ``host:port``; with it, a call on ``runner``
        unanswered for ``slow_s`` is shown as waiting for the server."""
        super().__init__(parent)
        self._runner = runner
        self._probe_fn = probe
        self._backoff = tuple(backoff_s)
        self._attempt = 0
        self._message = ""
        self._slow = ""  # the waiting line, while a call is slow and the server not lost
        self._probing = False
        self._closed = False
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._probe)
        self._server = server
        self._slow_s = slow_s
        self._watch = QTimer(self, interval=1000)
        self._watch.timeout.connect(self._check_slow)
        if server is not None:
            self._watch.start()

    @property
    def lost(self) -> bool:
        return bool(self._message)

    @property
    def message(self) -> str:
        """The line shown: the server is lost, or a call waits for it ("" otherwise)."""
        return self._message or self._slow

    def _check_slow(self) -> None:
        waited = self._runner.running_for()
        slow = (
            f"Waiting for the database server {self._server}: no answer for {waited:.0f} s…"
            if waited >= self._slow_s and not self._message and not self._closed
            else ""
        )
        if slow != self._slow:
            self._slow = slow
            if not self._message:
                self.changed.emit(slow)

    def report(self, exc: BaseException) -> bool:
        """A store call failed. True (and the state is "reconnecting") when the server is
        the cause; False for any other error, which the caller reports as it did."""
        problem = server_problem(exc)
        if problem is None:
            return False
        gone = problem.startswith(("lost the connection", "cannot reach")) or problem.endswith(
            "stopped answering"
        )
        message = f"{'Reconnecting' if gone else 'Retrying'}: {problem}…"
        self._slow = ""
        if message != self._message:
            self._message = message
            self.changed.emit(message)
        self._schedule()
        return True

    def succeeded(self, *, probe: bool = False) -> None:
        """A store call went through: the server answers. After a mere ``probe`` (a read)
        the backoff is kept: a server that reads but cannot write (a full disk) is retried
        less and less often, not every half second."""
        if not probe:
            self._attempt = 0
        if not self._message:
            return
        self._message = ""
        self._timer.stop()
        self.restored.emit()  # first: the fetches it restarts count when the view redraws
        self.changed.emit("")

    def close(self) -> None:
        self._closed = True
        self._timer.stop()
        self._watch.stop()

    def _schedule(self) -> None:
        if self._closed or self._probing or self._timer.isActive():
            return
        delay = self._backoff[min(self._attempt, len(self._backoff) - 1)]
        self._attempt += 1
        self._timer.start(int(delay * 1000))

    def _probe(self) -> None:
        if self._closed or not self._message:
            return
        self._probing = True
        self._runner.submit(self._probe_fn, on_done=self._probed, on_error=self._probe_failed)

    def _probed(self, _result: object) -> None:
        self._probing = False
        if not self._closed:
            self.succeeded(probe=True)

    def _probe_failed(self, exc: BaseException) -> None:
        self._probing = False
        if not self._closed and not self.report(exc):
            self._schedule()  # some other error while the server was away: probe again
