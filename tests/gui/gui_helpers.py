"""Helpers for the desktop tests: fill projects through the store API, drive the window."""

from __future__ import annotations

import hashlib

from labeler.store import Store
from labeler.store.records import dumps

WORDS = ("apple", "river", "engine", "violet", "cloud", "stone", "paper", "quiet", "tiger", "salt")


def fill_text(store: Store, n: int) -> list[int]:
    """Add ``n`` short distinct texts; return their sample ids."""
    rows = []
    for i in range(n):
        text = f"Sample {i}: " + " ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 8))
        digest = hashlib.sha256(text.encode()).hexdigest()
        rows.append((f"s{i:05d}", digest, text, None, None, None))
    with store.samples.bulk_import("test-fixture", hashlib.sha256(b"fixture").hexdigest()) as batch:
        return batch.add_samples(rows)


def fill_tabular(store: Store, n: int) -> list[int]:
    rows = []
    for i in range(n):
        data = {"height": 1.5 + i / 100, "colour": WORDS[i % len(WORDS)], "count": i}
        raw = dumps(data)
        rows.append((f"r{i:05d}", hashlib.sha256(raw.encode()).hexdigest(), None, None, raw, None))
    with store.samples.bulk_import("test-fixture", hashlib.sha256(b"tab").hexdigest()) as batch:
        return batch.add_samples(rows)


def project_arg(store: Store) -> str:
    """What a user would pass to ``labeler open`` for this store."""
    loc = store.location
    return str(loc.folder) if loc.is_sqlite else f"{loc.url}#{loc.name}"


def open_and_wait(qtbot, window, store: Store) -> object:  # type: ignore[no-untyped-def]
    """Open ``store``'s project in ``window`` and wait for its first sample."""
    with qtbot.waitSignal(window.firstItemShown, timeout=20_000):
        window.open_project(project_arg(store))
    wait_painted(qtbot, window.annotate_view)
    return window.annotate_view


def press(qtbot, view, key, modifier=None) -> object:  # type: ignore[no-untyped-def]
    """Press a key on the annotate view and wait until the view shows the result and the
    store has it (a label shows the next sample before its commit is confirmed; the next
    command waits for that)."""
    from PySide6.QtCore import Qt

    mod = modifier if modifier is not None else Qt.KeyboardModifier.NoModifier
    with qtbot.waitSignal(view.shownItem, timeout=10_000) as blocker:
        qtbot.keyClick(view, key, mod)
    qtbot.waitUntil(lambda: not view.controller.busy, timeout=10_000)
    wait_painted(qtbot, view)
    return view.controller.current if blocker.args[0] is not None else None


def wait_painted(qtbot, view) -> None:  # type: ignore[no-untyped-def]
    """Wait until the sample on screen has been painted: the view refuses a key meant for a
    sample the annotator could not have seen yet."""
    import time

    def on_screen() -> bool:
        if view.controller.current is None:
            return True
        since = view.visible_since()  # its paint, or a moment after it was set (no paint seen)
        return since is not None and time.monotonic() >= since

    qtbot.waitUntil(on_screen, timeout=10_000)


def shown_id(view) -> int | None:  # type: ignore[no-untyped-def]
    item = view.controller.current
    return item.sample_id if item is not None else None


def assert_no_worker_threads() -> None:
    """Closing the window stops every worker it started (database, jobs, retraining)."""
    import threading

    ours = ("labeler-",)  # every worker thread of ours is named labeler-...
    leaked = [t for t in threading.enumerate() if t.name.startswith(ours)]
    for t in leaked:
        t.join(timeout=30)  # a retrain being cancelled may need a moment
    alive = [t.name for t in leaked if t.is_alive()]
    assert not alive, f"worker threads still running after the window closed: {alive}"


def label_when_free(controller, item, labels: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Label ``item`` as an annotator would: while it is on screen, once the previous label
    is saved (a label shows the next sample at once and refuses commands until then)."""
    from PySide6.QtCore import QTimer

    def go() -> None:
        if controller.current is not item:
            return
        if controller.busy:
            QTimer.singleShot(2, go)
            return
        controller.label(labels)

    QTimer.singleShot(0, go)
