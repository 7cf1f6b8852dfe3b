"""Whether the annotate session's database server answers, and what to do while it does not.

:class:`ConnectionState` is an object the controller owns. Any store call of the session that
fails because the PostgreSQL server is unreachable, gone or frozen
(:func:`labeler.store.database.server_problem`) is ``report``-ed to it: it says so at once
(``changed``: one line, "Reconnecting: ..."), then probes the server with a cheap query after
0.5, 1, 2, 4, 8, 10, 10 ... s. The first call that succeeds, a probe or any other, clears the
state (``changed("")``) and fires ``restored``: the queue feed fetches what it could not, the
controller saves the label it could not (:mod:`labeler.gui.label_commits`). Nothing is
retried by hand, and the screen never says "nothing left" while the server is away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from labeler.gui.tasks import TaskRunner
from labeler.store.database import server_problem

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 10.0)  # between probes; the last repeats


class ConnectionState(QObject):
    changed = Signal(str)  # one line while the server is away; "" once it answers again
    restored = Signal()

    def __init__(
        self,
        runner: TaskRunner,
        probe: Callable[[], Any],
        parent: QObject | None = None,
        *,
        backoff_s: Sequence[float] = BACKOFF_S,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._probe_fn = probe
        self._backoff = tuple(backoff_s)
        self._attempt = 0
        self._message = ""
        self._probing = False
        self._closed = False
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._probe)

    @property
    def lost(self) -> bool:
        return bool(self._message)

    @property
    def message(self) -> str:
        return self._message

    def report(self, exc: BaseException) -> bool:
        """A store call failed. True (and the state is "reconnecting") when the server is
        the cause; False for any other error, which the caller reports as it did."""
        problem = server_problem(exc)
        if problem is None:
            return False
        message = f"Reconnecting: {problem}…"
        if message != self._message:
            self._message = message
            self.changed.emit(message)
        self._schedule()
        return True

    def succeeded(self) -> None:
        """A store call went through: the server answers."""
        if not self._message:
            return
        self._message = ""
        self._attempt = 0
        self._timer.stop()
        self.restored.emit()  # first: the fetches it restarts count when the view redraws
        self.changed.emit("")

    def close(self) -> None:
        self._closed = True
        self._timer.stop()

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
            self.succeeded()

    def _probe_failed(self, exc: BaseException) -> None:
        self._probing = False
        if not self._closed and not self.report(exc):
            self._schedule()  # some other error while the server was away: probe again
