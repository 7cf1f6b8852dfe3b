"""Review mode driven like a user: filters, detail panel, adjudication, statistics, export,
model push."""

from __future__ import annotations

import json

import pytest
from _review_data import labeled_project, record_trained_run
from PySide6.QtCore import Qt

from labeler.gui.review import ReviewView
from labeler.store.review_queries import ReviewFilter, review_count

pytestmark = pytest.mark.gui


@pytest.fixture
def reviewed(make_store):
    store = make_store(labels=("a", "b", "c"))
    ids, X, y = labeled_project(store, n=60)
    # two annotators on the first 10 samples; bob disagrees on 3 of them
    for i, sid in enumerate(ids[:10]):
        label = str(y[i]) if i >= 3 else {"a": "b", "b": "c", "c": "a"}[str(y[i])]
        store.labels.add(sid, [label], "bob")
    record_trained_run(store, ids, X, y)
    return store, ids


@pytest.fixture
def view(qtbot, reviewed):
    store, _ = reviewed
    v = ReviewView(store)
    v.reviewer = "lead"
    qtbot.addWidget(v)
    v.resize(1300, 800)
    with qtbot.waitSignals([v.idsLoaded, v.statsLoaded], timeout=30_000):
        v.show()
    yield v
    v.shutdown()


def test_table_filters_and_counts(qtbot, view, reviewed):
    store, ids = reviewed
    assert view.model.rowCount() == 60
    with qtbot.waitSignal(view.idsLoaded) as blocker:
        view.filters.disagreement.click()
    assert blocker.args == [3]
    assert view.count_label.text() == "3 labeled samples shown"
    with qtbot.waitSignal(view.idsLoaded) as blocker:
        view.filters.disagreement.click()
        view.filters.annotator.setCurrentText("bob")
    assert blocker.args[0] == review_count(store, ReviewFilter(annotator="bob")) == 10
    with qtbot.waitSignal(view.idsLoaded):
        view.filters.annotator.setCurrentText("any")
    with qtbot.waitSignal(view.idsLoaded) as blocker:
        view.filters.label.setCurrentText("c")
    assert blocker.args[0] == review_count(store, ReviewFilter(label="c"))
    with qtbot.waitSignal(view.idsLoaded) as blocker:
        view.filters.min_conf.setValue(0.99)
    assert blocker.args[0] == review_count(store, ReviewFilter(label="c", min_confidence=0.99))


def test_sorting_by_clicking_the_header(qtbot, view):
    header = view.table.horizontalHeader()

    def confidences() -> list[float]:
        rows = [view.model.cached_row(r) for r in range(view.model.rowCount())]
        return [r.confidence for r in rows if r is not None]

    for expected_desc in (False, True):
        with qtbot.waitSignal(view.idsLoaded):
            qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=_centre(header, 6))
        view.table.scrollToTop()
        qtbot.waitUntil(lambda: len(confidences()) == 60)
        got = confidences()
        assert got == sorted(got, reverse=expected_desc)
        assert got != sorted(got, reverse=not expected_desc)


def _centre(header, section):
    from PySide6.QtCore import QPoint

    return QPoint(header.sectionViewportPosition(section) + header.sectionSize(section) // 2, 5)


def test_selecting_a_row_shows_the_audit_trail_and_adjudicating_is_an_event(qtbot, view, reviewed):
    store, ids = reviewed
    with qtbot.waitSignal(view.idsLoaded):
        view.filters.disagreement.click()
    qtbot.waitUntil(lambda: view.model.cached_row(0) is not None)
    sid = view.model.sample_id(0)
    with qtbot.waitSignal(view.detailShown) as blocker:
        view.table.selectRow(0)
    assert blocker.args == [sid]
    assert view.detail.events.rowCount() == 2  # alice's label, bob's label
    assert view.detail.events.item(1, 1).text() == "bob"
    assert "Model v1" in view.detail.opinion.text()

    view.detail.label_choice.setCurrentText("c")
    qtbot.keyClicks(view.detail.comment, "checked")
    with qtbot.waitSignal(view.labelsChanged) as blocker, qtbot.waitSignal(view.detailShown):
        qtbot.mouseClick(view.detail.adjudicate_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [sid]
    last = store.labels.events(sample_id=sid)[-1]
    assert (last.action, last.annotator, last.labels, last.comment) == (
        "adjudicate",
        "lead",
        ("c",),
        "checked",
    )
    assert view.detail.events.rowCount() == 3
    assert store.labels.state(sid).labels == ("c",)

    with qtbot.waitSignal(view.labelsChanged):
        view.detail.label_choice.setCurrentText("a")
        qtbot.mouseClick(view.detail.relabel_button, Qt.MouseButton.LeftButton)
    last = store.labels.events(sample_id=sid)[-1]
    assert (last.action, last.annotator, last.labels) == ("label", "lead", ("a",))
    assert store.labels.state(sid).labels == ("c",)  # the adjudication still decides


def test_statistics_tabs(qtbot, view, reviewed, tmp_path):
    assert "alpha" in view.agreement.headline.text()
    assert view.agreement.pairs.rowCount() == 1
    assert view.agreement.pairs.item(0, 0).text() == "alice"
    assert set(view.plots.images) == {
        "learning-curve",
        "confusion-matrix",
        "per-class",
        "class-balance",
        "run-history",
    }
    assert not view.plots.images["confusion-matrix"].pixmap().isNull()
    assert view.runs.table.rowCount() == 1
    assert view.audit.table.rowCount() == 0  # everything is labeled
    paths = view.save_plots(tmp_path / "plots")
    assert len(paths) == 5 and all(p.stat().st_size > 0 for p in paths)


def test_suspects_tab_selects_samples(qtbot, view):
    table = view.suspects.table
    assert table.rowCount() > 0  # the fixture's model flags bob's contradicting labels
    with qtbot.waitSignal(view.detailShown):
        table.setCurrentCell(0, 1)
    assert view.detail.sample_id is not None


def test_export_and_push_from_the_view(qtbot, view, reviewed, tmp_path):
    store, _ = reviewed
    out = tmp_path / "from-gui.jsonl"
    with qtbot.waitSignal(view.exportFinished, timeout=30_000) as blocker:
        view.export_dataset("jsonl", out)
    assert blocker.args[0].manifest["rows"] == 60
    assert len(out.read_text().splitlines()) == 60
    assert "snapshot v1" in view.status.text()

    with qtbot.waitSignal(view.pushFinished, timeout=60_000) as blocker:
        view.push_model(str(tmp_path / "registry"))
    result = blocker.args[0]
    assert result.version.version == 1 and result.promotion.promoted
    assert "Promoted to champion" in view.status.text()
    assert view.reporter.last_box is not None
    meta = json.loads((tmp_path / "registry" / store.info.name / "v1" / "meta.json").read_text())
    assert meta["lineage"]["rows"] == 60


def test_a_failing_push_is_reported_in_a_dialog(qtbot, make_store, tmp_path):
    store = make_store()
    labeled_project(store, n=6)
    v = ReviewView(store)
    qtbot.addWidget(v)
    with qtbot.waitSignal(v.reporter.reported) as blocker:
        v.push_model(str(tmp_path / "registry"))
    assert "no trained model" in blocker.args[1]
    v.shutdown()


def test_a_weak_model_shows_why_no_suspects_are_listed(qtbot, make_store):
    import numpy as np
    from _review_data import add_samples

    store = make_store(labels=("a", "b", "c"))
    rng = np.random.default_rng(5)
    X = rng.normal(size=(90, 4)).astype(np.float32)  # features unrelated to the labels
    y = rng.choice(["a", "b", "c"], 90)
    ids = add_samples(store, [f"x{i}" for i in range(90)], X)
    for sid, lab in zip(ids, y, strict=True):
        store.labels.add(sid, [str(lab)], "alice")
    record_trained_run(store, ids, X, y)
    v = ReviewView(store)
    qtbot.addWidget(v)
    with qtbot.waitSignals([v.idsLoaded, v.statsLoaded], timeout=30_000):
        v.show()
    try:
        assert "not better than the class frequencies" in v.suspects.headline.text()
        assert v.suspects.table.rowCount() == 0
        assert review_count(store, ReviewFilter(suspected=True)) == 0
    finally:
        v.shutdown()
