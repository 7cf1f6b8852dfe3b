"""The annotate view driven with real key presses, on both storage back ends."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from labeler.store import Store
from tests.gui.gui_helpers import open_and_wait, press, project_arg, shown_id

pytestmark = pytest.mark.gui

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def current_labels(store: Store) -> dict[int, tuple[str, ...]]:
    df = store.labels.current()
    return dict(zip(df["sample_id"], df["labels"], strict=True))


def test_label_fifty_samples_with_keys(qtbot, window, text_project) -> None:
    store = text_project(n=60)
    view = open_and_wait(qtbot, window, store)
    keys = ["1", "2", "3"]
    given: dict[int, str] = {}
    for i in range(50):
        sid = shown_id(view)
        assert sid is not None and sid not in given  # a new sample every time
        key = keys[i % 3]
        press(qtbot, view, key)
        given[sid] = store.info.label_names[int(key) - 1]
    assert current_labels(store) == {sid: (lab,) for sid, lab in given.items()}
    events = store.labels.events(annotator=window.user.annotator)
    assert len(events) == 50
    assert all(e.session == view.controller.session_id for e in events)
    assert all(e.time_spent_ms is not None and e.time_spent_ms >= 0 for e in events)
    session = view.controller.session
    assert session.counts.labeled == 50
    assert sum(session.counts.per_class.values()) == 50
    assert "50 / 60 labeled" in view.panel.progress_bar.format()


def test_undo_redo_skip_flag(qtbot, window, text_project) -> None:
    store = text_project(n=20)
    view = open_and_wait(qtbot, window, store)
    first = shown_id(view)
    first_item = view.controller.current
    press(qtbot, view, "1")
    second = shown_id(view)
    assert second != first

    # undo brings the labeled sample back and removes its label; the screen shows the item
    # it had (kept by the session, not read back), and the sample is held again
    shown = press(qtbot, view, Qt.Key.Key_Z, CTRL)
    assert shown.sample_id == first
    assert shown is first_item
    assert first in store.claims.held_by_others("someone else")
    assert store.labels.state(first).status == "unlabeled"
    assert view.controller.session.counts.labeled == 0

    # redo re-applies it and moves on to the sample that was waiting
    press(qtbot, view, Qt.Key.Key_Z, CTRL_SHIFT)
    assert store.labels.state(first).labels == ("pos",)
    assert shown_id(view) == second

    # skip: recorded, not labeled, next sample shown
    press(qtbot, view, Qt.Key.Key_Space)
    assert store.labels.state(second).status == "skipped"
    third = shown_id(view)
    assert third not in (first, second)

    # flag with a comment: the sample stays on screen, the flag is an event
    with qtbot.waitSignal(view.controller.flagChanged, timeout=10_000):
        qtbot.keyClick(view, Qt.Key.Key_F, CTRL)
        dialog = view.flag_dialog
        assert dialog is not None and dialog.isVisible()
        qtbot.keyClicks(dialog.comment, "two languages mixed")
        qtbot.keyClick(dialog.comment, Qt.Key.Key_Return)
    assert shown_id(view) == third
    assert store.labels.state(third).flagged
    flag = [e for e in store.labels.events(sample_id=third) if e.action == "flag"]
    assert flag[0].comment == "two languages mixed"
    assert view.panel.flag.isVisibleTo(view.panel)

    # undo the flag, then undo the skip (brings the skipped sample back)
    with qtbot.waitSignal(view.controller.flagChanged, timeout=10_000):
        qtbot.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert not store.labels.state(third).flagged
    shown = press(qtbot, view, Qt.Key.Key_Z, CTRL)
    assert shown.sample_id == second
    assert store.labels.state(second).status == "unlabeled"
    # label it now; the sample that was on screen comes next
    press(qtbot, view, "2")
    assert store.labels.state(second).labels == ("neg",)
    assert shown_id(view) == third


def test_keys_refused_while_nothing_shown_and_unknown_keys_ignored(
    qtbot, window, text_project
) -> None:
    store = text_project(n=3)
    view = open_and_wait(qtbot, window, store)
    qtbot.keyClick(view, "x")  # no label has this key
    qtbot.keyClick(view, "9")
    assert store.labels.events() == []
    for _ in range(3):
        press(qtbot, view, "1")
    assert shown_id(view) is None
    assert "Nothing left" in view.display.message_view.text()
    qtbot.keyClick(view, "1")  # nothing on screen: refused, nothing written
    assert len(store.labels.events()) == 3


def test_reopening_resumes_at_next_unlabeled_sample(qtbot, window, text_project) -> None:
    store = text_project(n=15)
    ids = store.samples.ids()
    # a ranked queue (as a retrain would leave it): reverse id order, with provenance
    store.models.replace_queue(
        3, "margin", [(sid, 1.0 - i / 100) for i, sid in enumerate(reversed(ids))]
    )
    view = open_and_wait(qtbot, window, store)
    assert shown_id(view) == ids[-1]
    assert view.panel.why.text().startswith("Strategy: margin")
    press(qtbot, view, "1")
    press(qtbot, view, "2")
    ev = store.labels.events()[0]
    assert (ev.strategy, ev.model_version, ev.score) == ("margin", 3, pytest.approx(1.0))
    window.close_project()

    view = open_and_wait(qtbot, window, store)
    assert shown_id(view) == ids[-3]  # the next unlabeled sample in the queue


def test_multi_label_toggles_and_confirm(qtbot, window, make_store) -> None:
    from tests.gui.gui_helpers import fill_text

    store = make_store(modality="text", labels=("red", "green", "blue"), task_type="multi-label")
    fill_text(store, 5)
    view = open_and_wait(qtbot, window, store)
    sid = shown_id(view)
    qtbot.keyClick(view, "1")
    qtbot.keyClick(view, "3")
    qtbot.keyClick(view, "3")
    qtbot.keyClick(view, "2")
    assert view.label_bar.toggled() == ["red", "green"]
    press(qtbot, view, Qt.Key.Key_Return)
    assert store.labels.state(sid).labels == ("red", "green")
    assert view.label_bar.toggled() == []


def test_binary_accept_reject(qtbot, window, make_store) -> None:
    from tests.gui.gui_helpers import fill_text

    store = make_store(modality="text", labels=("spam", "ham"), task_type="binary")
    fill_text(store, 5)
    view = open_and_wait(qtbot, window, store)
    a = shown_id(view)
    press(qtbot, view, "y")
    b = shown_id(view)
    press(qtbot, view, "n")
    assert store.labels.state(a).labels == ("spam",)
    assert store.labels.state(b).labels == ("ham",)
    assert "Accept: spam" in view.label_bar.buttons["spam"].text()


def test_open_missing_project_shows_dialog(qtbot, window, tmp_path) -> None:
    with qtbot.waitSignal(window.reporter.reported, timeout=10_000) as blocker:
        window.open_project(str(tmp_path / "nope"))
    assert "no such project folder" in blocker.args[1]
    assert window.stack.currentWidget() is window.start


def test_project_arg_round_trip(text_project) -> None:
    store = text_project(n=1)
    assert Store.open(project_arg(store)).info.name == store.info.name


def test_close_while_opening_leaves_nothing_running(qtbot, window, text_project) -> None:
    store = text_project(n=5)
    window.open_project(project_arg(store))
    window.close_project()  # before the worker has opened it
    assert window.controller is None
    assert window.stack.currentWidget() is window.start
    # the project opens normally afterwards
    view = open_and_wait(qtbot, window, store)
    assert shown_id(view) is not None


def test_an_empty_queue_while_colleagues_hold_samples_says_not_now(
    qtbot, window, text_project
) -> None:
    """Team mode: the samples a colleague holds are not ours to show, but they may come
    back (handed back unlabeled); the screen says so instead of "Nothing left"."""
    store = text_project(n=5)
    assert store.claims.claim("bob", store.samples.ids()[-2:]) != []
    view = open_and_wait(qtbot, window, store)
    for _ in range(3):
        press(qtbot, view, "1")
    assert shown_id(view) is None
    text = view.display.message_view.text()
    assert "colleagues are working on 2 samples" in text and "Nothing left" not in text
    # bob hands one back: it is shown at the next poll
    store.claims.release("bob", store.samples.ids()[-1:])
    with qtbot.waitSignal(view.shownItem, timeout=20_000) as shown:
        pass
    assert shown.args[0].sample_id == store.samples.ids()[-1]


def test_an_undo_shown_at_once_but_reverting_another_event_keeps_the_queue(
    qtbot, window, text_project
) -> None:
    """An undo shows this session's last labeled sample before the store answers. Here the
    store reverts something else (a flag the same annotator set in another window) while a
    fetch fills the queue: the guess is taken back and the waiting samples are shown."""
    store = text_project(n=5)
    ids = store.samples.ids()
    assert store.claims.claim("bob", ids[-2:]) != []
    view = open_and_wait(qtbot, window, store)
    c = view.controller
    for _ in range(3):
        press(qtbot, view, "1")
    assert shown_id(view) is None
    store.labels.flag(ids[0], window.user.annotator, "check", session="other-window")
    store.claims.release("bob")
    c.feed.refill(force=True)  # the poll's fetch, queued before the undo
    assert c.undo()
    assert shown_id(view) == ids[2]  # the guess: this session's last label
    qtbot.waitUntil(lambda: not c.busy and not c.fetching, timeout=10_000)
    assert not store.labels.state(ids[0]).flagged  # the store undid the flag instead
    assert store.labels.state(ids[2]).labels == ("pos",)
    assert shown_id(view) in ids[-2:]  # not an empty screen with samples waiting
    assert c.session is not None and len(c.session.upcoming) == 1
