"""Progress reporting and cancellation for long operations (import, export, training).

Long operations are plain functions taking ``progress`` (a ``(done, total)`` callback, total
may be None when unknown) and ``cancel`` (a :class:`CancelToken`). They call
``cancel.check()`` between chunks; it raises :class:`~labeler.errors.Cancelled`, which the
operation lets propagate after undoing its partial work. Both are thread-safe and Qt-free,
so a GUI wraps them in signals and tests call the functions directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from labeler.errors import Cancelled

ProgressFn = Callable[[int, int | None], None]


def no_progress(done: int, total: int | None) -> None:
    """A progress callback that ignores its reports."""


class CancelToken:
    """Set from any thread with :meth:`cancel`; checked by the worker with :meth:`check`."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()
