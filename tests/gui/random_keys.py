"""A randomized user for the real main window: random keys where the focus is, every
acknowledged label remembered, and the store's derived state checked against a replay of its
events afterwards."""

from __future__ import annotations

import json
import random
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from labeler.store import Store
from labeler.store.derive import EventView, derive_state

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
NONE = Qt.KeyboardModifier.NoModifier

# (key, modifiers, weight): mostly labeling, as an annotator does, with the rest mixed in
ACTIONS: list[tuple[Any, Any, int]] = [
    ("1", NONE, 14),
    ("2", NONE, 14),
    ("3", NONE, 8),
    (Qt.Key.Key_Space, NONE, 6),
    (Qt.Key.Key_Z, CTRL, 5),
    (Qt.Key.Key_Z, CTRL | SHIFT, 3),
    (Qt.Key.Key_F, CTRL, 1),
    (Qt.Key.Key_2, CTRL, 2),
    (Qt.Key.Key_1, CTRL, 4),
    (Qt.Key.Key_Return, NONE, 2),
    (Qt.Key.Key_Escape, NONE, 3),
    (Qt.Key.Key_Down, NONE, 1),
    (Qt.Key.Key_J, NONE, 1),
    (Qt.Key.Key_E, CTRL, 1),
    (Qt.Key.Key_E, CTRL | SHIFT, 1),
]


def drive(qtbot, window, steps: int, seed: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Press ``steps`` random keys on whatever has the focus; returns what was acknowledged."""
    rng = random.Random(seed)
    keys = [a[:2] for a in ACTIONS]
    weights = [a[2] for a in ACTIONS]
    saved: list[tuple[int, int]] = []
    c = window.controller

    def idle() -> bool:
        runners = [c.runner]
        if window.review_view is not None:  # relabels and exports run on the view's workers
            runners += [window.review_view.db, window.review_view.jobs]
        return not c.busy and all(r.pending == 0 for r in runners)

    c.labelSaved.connect(lambda sid, eid: saved.append((sid, eid)))
    import os

    debug = os.environ.get("RANDOM_KEYS_DEBUG")
    for _ in range(steps):
        key, mods = rng.choices(keys, weights)[0]
        modal = QApplication.activeModalWidget()
        if modal is None and QApplication.activeWindow() is not window:
            window.activateWindow()  # offscreen, a closed dialog leaves no window active
        target = modal or QApplication.focusWidget() or window.focusWidget() or window
        if debug:
            print(key, mods, type(target).__name__, target.objectName(), window.status_text.text())
        qtbot.keyClick(target, key, mods)
        qtbot.waitUntil(idle, timeout=30_000)
    while QApplication.activeModalWidget() is not None:  # leave every dialog
        qtbot.keyClick(QApplication.activeModalWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(idle, timeout=30_000)
    return {"saved": saved}


def check_store(store: Store, saved: list[tuple[int, int]]) -> int:
    """Every acknowledged label is an event, and each sample's stored state equals a replay of
    its events. Returns how many samples have events."""
    events = store.labels.events()
    by_id = {e.id: e for e in events}
    for sid, eid in saved:
        assert eid in by_id and by_id[eid].sample_id == sid and by_id[eid].action == "label"
    for e in events:
        if e.target_event_id is not None:
            assert e.target_event_id in by_id, f"event {e.id} points at a missing event"
    by_sample: dict[int, list[EventView]] = {}
    for e in events:
        by_sample.setdefault(e.sample_id, []).append(
            EventView(e.id, e.action, e.annotator, e.labels, e.target_event_id)
        )
    stored = {row[0]: row for row in store.dump()["sample_state"]}
    for sid, views in by_sample.items():
        want = derive_state(views)
        row = stored.get(sid)
        assert row is not None, f"sample {sid} has events but no state"
        _, _, status, labels, annotator, event_id, n_ann, disagree, adjud, flagged, _ = row
        got_labels = tuple(json.loads(labels)) if labels else None
        assert (
            status,
            got_labels,
            event_id,
            n_ann,
            bool(disagree),
            bool(adjud),
            bool(flagged),
        ) == (
            want.status,
            want.labels,
            want.event_id,
            want.n_annotators,
            want.disagreement,
            want.adjudicated,
            want.flagged,
        ), f"sample {sid}: stored state {row} differs from the replay of its events {want} {views}"
        assert annotator == want.annotator
    return len(by_sample)
