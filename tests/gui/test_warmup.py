"""The warm-up imports only in the annotator's pauses, one module at a time."""

from __future__ import annotations

import sys
import time

from labeler.gui.tasks import TaskRunner
from labeler.gui.warmup import IDLE_S, Warmup


def test_warmup_waits_for_a_pause_then_imports_each_module(qtbot) -> None:  # type: ignore[no-untyped-def]
    runner = TaskRunner(name="labeler-test-warmup")
    activity = {"at": time.monotonic()}
    modules = ["xml.dom.minidom", "email.mime.text"]
    for name in modules:
        sys.modules.pop(name, None)
    warm = Warmup(runner, lambda: activity["at"], modules)
    try:
        warm.start()
        # the annotator keeps labeling: a new sample every 0.2 s, nothing is imported
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            activity["at"] = time.monotonic()
            qtbot.wait(200)
        assert warm.left == modules
        # a pause: the modules are imported, one after the other
        activity["at"] = time.monotonic() - IDLE_S - 1
        qtbot.waitUntil(lambda: not warm.left and not warm._importing, timeout=10_000)
        assert all(name in sys.modules for name in modules)
    finally:
        runner.shutdown()
