"""Review mode's team tabs driven with real key events: the adjudication queue (a label key
or Enter records an adjudicate event) and the per-annotator statistics."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from labeler.gui.review import ReviewView, team_tabs
from labeler.review.adjudication import AdjudicationQueue
from labeler.store import Store
from labeler.store.overlap import OverlapSettings
from tests.gui.gui_helpers import fill_text

pytestmark = pytest.mark.gui


def _team_project(store: Store) -> list[int]:
    """Three annotators with overlap 3 on 8 samples: samples 0-2 disputed."""
    store.update_settings(**OverlapSettings(3, 1.0).to_settings({}))
    ids = fill_text(store, 8)
    answers = {
        0: ("pos", "pos", "neg"),  # majority pos
        1: ("neg", "pos", "neg"),  # majority neg
        2: ("pos", "neg", "neutral"),  # a three-way tie: the latest (neutral)
    }
    for i, sid in enumerate(ids[:6]):
        given = answers.get(i, ("pos", "pos", "pos"))
        for name, lab, ms in zip(("ann", "bob", "cyd"), given, (2000, 3000, 4000), strict=True):
            store.labels.add(sid, [lab], name, time_spent_ms=ms)
    return ids


@pytest.fixture
def team_view(qtbot, make_store):
    store = make_store(labels=("pos", "neg", "neutral"))
    ids = _team_project(store)
    v = ReviewView(store, reviewer="lead")
    qtbot.addWidget(v)
    v.resize(1300, 800)
    with qtbot.waitSignals([v.idsLoaded, v.team.loaded], timeout=30_000):
        v.show()
    yield v, store, ids
    v.shutdown()


def _adjudications(store: Store) -> dict[int, tuple[str, ...]]:
    return {e.sample_id: e.labels for e in store.labels.events() if e.action == "adjudicate"}  # type: ignore[misc]


def test_adjudication_queue_from_the_keyboard(qtbot, team_view) -> None:
    view, store, ids = team_view
    panel = view.team.adjudication
    table = panel.table
    with qtbot.waitSignal(view.detailShown, timeout=10_000) as shown:
        view.tabs.setCurrentWidget(panel)  # the first disagreement is selected and shown
    assert shown.args == [ids[0]] and panel.selected_id() == ids[0]
    assert table.rowCount() == 3 and panel.total == 3
    assert "3</b> samples where annotators disagree" in panel.headline.text()
    assert table.item(0, 2).text() == "ann: pos · bob: pos · cyd: neg"
    assert [table.item(r, 3).text() for r in range(3)] == ["pos", "neg", "tie"]
    assert "latest: neutral" in table.item(2, 3).toolTip()
    assert [table.item(r, 4).text() for r in range(3)] == ["pos", "neg", ""]

    with qtbot.waitSignal(view.detailShown, timeout=10_000) as shown:
        qtbot.keyClick(table, Qt.Key.Key_Down)
    assert shown.args == [ids[1]]
    with qtbot.waitSignal(view.detailShown, timeout=10_000) as shown:
        qtbot.keyClick(table, Qt.Key.Key_Up)
    assert shown.args == [ids[0]] and panel.selected_id() == ids[0]

    # Enter takes the majority; the next disagreement is selected at once
    with qtbot.waitSignal(view.labelsChanged, timeout=10_000) as changed:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert changed.args == [ids[0]]
    assert panel.selected_id() == ids[1]
    # a label key overrules the majority ("neg") with that label
    with qtbot.waitSignal(view.labelsChanged, timeout=10_000):
        qtbot.keyClick(table, "3")
    assert panel.selected_id() == ids[2]
    assert _adjudications(store) == {ids[0]: ("pos",), ids[1]: ("neutral",)}
    assert [e.annotator for e in store.labels.events() if e.action == "adjudicate"] == ["lead"] * 2

    qtbot.waitUntil(lambda: panel.total == 1 and table.rowCount() == 1, timeout=10_000)
    assert view.status.text() == "Sample adjudicated as neutral"
    qtbot.keyClick(table, Qt.Key.Key_Enter)  # a tie has no decision until a label is chosen
    assert panel.selected_id() == ids[2] and "A tie" in panel.headline.text()
    view.reviewer = "chief"  # the user renamed themself in the settings
    with qtbot.waitSignal(
        view.labelsChanged, timeout=10_000, check_params_cb=lambda sid: sid == ids[2]
    ):
        qtbot.keyClick(table, "1")
    assert table.rowCount() == 0
    assert store.labels.events()[-1].annotator == "chief"
    qtbot.waitUntil(lambda: "No open disagreements" in panel.headline.text(), timeout=10_000)
    assert store.labels.state(ids[2]).labels == ("pos",)


def test_a_queue_read_before_an_adjudication_does_not_bring_its_row_back(
    qtbot, team_view, monkeypatch
) -> None:
    """A reload reads the queue on the job worker while the adjudication commits on the
    database worker: a read that began before the commit but arrives after it is stale."""
    view, store, ids = team_view
    panel = view.team.adjudication
    view.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.selected_id() == ids[0], timeout=10_000)
    read, release = threading.Event(), [threading.Event(), threading.Event()]
    calls: list[int] = []
    real = team_tabs.adjudication_queue

    def slow_read(store: Store) -> AdjudicationQueue:
        queue = real(store)  # read now, delivered when the test says
        calls.append(1)
        read.set()
        assert release[len(calls) - 1].wait(20)
        return queue

    monkeypatch.setattr(team_tabs, "adjudication_queue", slow_read)
    view.team.reload()
    assert read.wait(20)  # this queue still lists ids[0]
    with qtbot.waitSignal(view.labelsChanged, timeout=10_000) as changed:
        qtbot.keyClick(panel.table, Qt.Key.Key_Return)  # adjudicated, committed, recorded
    assert changed.args == [ids[0]] and ids[0] not in [i.sample_id for i in panel.items]
    release[0].set()  # the stale queue arrives; the reload asked for meanwhile starts
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=10_000)
    assert [i.sample_id for i in panel.items] == ids[1:3] and panel.total == 2
    assert panel.table.rowCount() == 2
    with qtbot.waitSignal(view.team.loaded, timeout=10_000):
        release[1].set()
    assert [i.sample_id for i in panel.items] == ids[1:3] and panel.table.rowCount() == 2


def test_annotator_statistics_tab(qtbot, team_view) -> None:
    view, store, ids = team_view
    panel = view.team.annotators
    view.tabs.setCurrentWidget(panel)
    table = panel.table

    def rows() -> list[list[str]]:
        return [
            [table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())
        ]

    # labels, samples, skips, hours on samples, labels/hour, median s/label, adjudicated, agreement
    assert rows() == [
        ["ann", "6", "6", "0", "0.00", "1800", "2.0", "0", "n/a"],
        ["bob", "6", "6", "0", "0.01", "1200", "3.0", "0", "n/a"],
        ["cyd", "6", "6", "0", "0.01", "900", "4.0", "0", "n/a"],
    ]
    assert "<b>6</b> of 8 overlap samples complete" in panel.headline.text()

    # adjudicating from the queue tab (real keys) updates the agreement column
    queue = view.team.adjudication
    view.tabs.setCurrentWidget(queue)
    assert queue.selected_id() == ids[0]
    with qtbot.waitSignal(view.team.loaded, timeout=10_000):
        qtbot.keyClick(queue.table, "2")  # sample 0 settled as "neg": only cyd said so
    qtbot.waitUntil(lambda: rows()[0][7] == "1", timeout=10_000)
    assert [r[7:] for r in rows()] == [["1", "0%"], ["1", "0%"], ["1", "100%"]]


def test_multi_label_decisions_are_toggled_then_entered(qtbot, make_store) -> None:
    store = make_store(labels=("red", "round", "big"), task_type="multi-label")
    (sid,) = fill_text(store, 1)
    store.labels.add(sid, ["red", "big"], "ann")
    store.labels.add(sid, ["round"], "bob")
    view = ReviewView(store, reviewer="lead")
    qtbot.addWidget(view)
    try:
        with qtbot.waitSignals([view.idsLoaded, view.team.loaded], timeout=30_000):
            view.show()
        panel = view.team.adjudication
        view.tabs.setCurrentWidget(panel)
        assert panel.table.item(0, 3).text() == "tie" and panel.decisions[sid] == ()
        qtbot.keyClick(panel.table, "1")  # toggles red in, nothing recorded yet
        qtbot.keyClick(panel.table, "2")  # and round
        assert panel.table.item(0, 4).text() == "red, round"
        assert not store.labels.state(sid).adjudicated
        with qtbot.waitSignal(view.labelsChanged, timeout=10_000):
            qtbot.keyClick(panel.table, Qt.Key.Key_Return)
        assert store.labels.state(sid).labels == ("red", "round")
        assert store.labels.events()[-1].action == "adjudicate"
    finally:
        view.shutdown()
