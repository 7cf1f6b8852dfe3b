"""Guards against Qt binding bugs that would crash a long labeling session."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(int)


@pytest.mark.gui
def test_signal_emit_keeps_reference_counts(qapp):
    """PySide6 6.12.0 dropped a reference to True on every Python ``Signal.emit`` (and to None
    in processEvents and model resets); after ~100k emits the interpreter aborts with
    ``bool_dealloc``. An annotator's session emits that many signals in hours."""
    emitter = _Emitter()
    seen: list[int] = []
    emitter.fired.connect(seen.append)
    before_true, before_none = sys.getrefcount(True), sys.getrefcount(None)
    for i in range(2000):
        emitter.fired.emit(i)
    qapp.processEvents()
    assert len(seen) == 2000
    assert sys.getrefcount(True) - before_true > -50
    assert sys.getrefcount(None) - before_none > -50
