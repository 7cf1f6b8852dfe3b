"""Review statistics aggregated in SQL give the same figures as computing them from every
row in Python (the reference: current labels, every prediction, every label event), and the
statistics job reports its stages and can be cancelled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _review_data import add_samples, labeled_project, record_trained_run

from labeler.errors import Cancelled
from labeler.review.agreement import agreement_report
from labeler.review.metrics import class_balance, confusion_matrix, evaluated, per_class_metrics
from labeler.review.service import STAGES, summarize
from labeler.review.stats_job import TOTAL_STAGES, load_review_stats
from labeler.store.review_stats import label_set_counts, oof_probabilities, shared_labels


def team_project(make_store):
    """60 samples in blobs labeled by alice and a trained run; bob double-labels 10 (3
    disagree), carol labels 2 samples nobody else touched, dave labels one and undoes it,
    a lead adjudicates one sample only alice labeled and one that bob also labeled."""
    store = make_store(labels=("a", "b", "c"))
    ids, X, y = labeled_project(store, n=60)
    for i, sid in enumerate(ids[:10]):
        label = str(y[i]) if i >= 3 else {"a": "b", "b": "c", "c": "a"}[str(y[i])]
        store.labels.add(sid, [label], "bob")
    extra = add_samples(store, ["carol one", "carol two"], prefix="c")
    for sid in extra:
        store.labels.add(sid, ["a"], "carol")
    store.labels.add(ids[20], ["c"], "dave")
    store.labels.undo("dave")
    store.labels.adjudicate(ids[30], ["b"], "lead", "checked")
    store.labels.adjudicate(ids[1], ["a"], "lead", "checked")
    record_trained_run(store, ids, X, y)
    return store, ids


def reference(store):
    """The figures from every row, in Python (how review mode computed them before)."""
    current = store.labels.current()
    preds = store.models.predictions(list(current["sample_id"]))
    ev = evaluated(current, preds)
    classes = store.info.label_names
    return {
        "balance": class_balance(current, classes),
        "confusion": confusion_matrix(ev.given, ev.predicted, classes),
        "per_class": per_class_metrics(ev.given, ev.predicted, classes),
        "evaluated": ev,
        "labeled": len(current),
    }


def test_sql_aggregates_match_the_row_by_row_figures(make_store):
    store, _ = team_project(make_store)
    ref = reference(store)
    summary = summarize(store)
    assert summary.labeled == ref["labeled"] == 62
    assert summary.evaluated == len(ref["evaluated"].sample_ids) == 60
    pd.testing.assert_series_equal(summary.balance, ref["balance"])
    pd.testing.assert_frame_equal(summary.confusion, ref["confusion"])
    pd.testing.assert_frame_equal(summary.per_class, ref["per_class"])


def test_agreement_reads_only_shared_samples_and_keeps_everyone(make_store):
    store, ids = team_project(make_store)
    shared = shared_labels(store)
    # carol shares no sample with anyone, dave's only label was undone, the lead adjudicated
    assert shared.annotators == ["alice", "bob", "carol"]
    assert set(shared.frame["sample_id"]) == set(ids[:10])
    expected = agreement_report(store.labels.by_annotator())
    got = summarize(store).agreement
    assert got.annotators == expected.annotators == ["alice", "bob", "carol"]
    assert (got.items, got.disagreements) == (expected.items, expected.disagreements) == (10, 3)
    assert got.alpha == pytest.approx(expected.alpha)
    pd.testing.assert_frame_equal(got.pairs, expected.pairs)
    carol = got.pairs[got.pairs["annotator_b"] == "carol"]
    assert carol["items"].tolist() == [0, 0]  # listed, with nothing shared (no KeyError)


def test_label_sets_count_each_multi_label_sample_once(make_store):
    store = make_store(labels=("x", "y", "z"), task_type="multi-label")
    ids = add_samples(store, ["one", "two", "three", "four"])
    store.labels.add(ids[0], ["x", "y"], "ann")
    store.labels.add(ids[1], ["x"], "ann")
    store.labels.add(ids[2], ["y", "x"], "ann")
    counts = label_set_counts(store)
    assert sum(counts.values()) == 3
    assert summarize(store).balance.to_dict() == {"x": 3, "y": 2, "z": 0}


def test_probabilities_come_out_of_the_stored_json(make_store):
    store, ids = team_project(make_store)
    classes = store.info.label_names
    oof = oof_probabilities(store, classes)
    preds = store.models.predictions()
    current = store.labels.current().set_index("sample_id")["labels"]
    assert len(oof.sample_ids) == 60 and oof.probs.shape == (60, 3)
    for sid, given, row in zip(oof.sample_ids, oof.given, oof.probs, strict=True):
        assert given == current[int(sid)]
        want = [preds[int(sid)].probabilities.get(c, 0.0) for c in classes]
        assert np.allclose(row, want)


def test_the_statistics_job_reports_stages_in_order_and_can_be_cancelled(make_store):
    store, _ = team_project(make_store)
    seen: list[tuple[int, int, str]] = []
    stats = load_review_stats(store, lambda *a: seen.append(a))
    assert [s for s in seen] == [
        *((i, TOTAL_STAGES, name) for i, name in enumerate(STAGES)),
        (len(STAGES), TOTAL_STAGES, "audit queue"),
        (len(STAGES) + 1, TOTAL_STAGES, "plots"),
        (TOTAL_STAGES, TOTAL_STAGES, "done"),
    ]
    assert set(stats.pngs) == {
        "learning-curve",
        "confusion-matrix",
        "per-class",
        "class-balance",
        "run-history",
    }
    assert all(png.startswith(b"\x89PNG") for png in stats.pngs.values())
    assert stats.annotators == ["alice", "bob", "carol", "dave", "lead"]

    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 2  # stop when the third stage begins

    with pytest.raises(Cancelled):
        load_review_stats(store, lambda *a: None, cancelled)
    assert len(asked) == 3
