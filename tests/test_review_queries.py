"""Review table queries: filters and sorting in SQL, display rows, adjudication (the audit
queue, after a real retrain: ``test_review_audit.py``)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from _review_data import add_samples

from labeler.store.database import utcnow
from labeler.store.models import Prediction
from labeler.store.review_queries import (
    ReviewFilter,
    annotators,
    review_count,
    review_ids,
    review_rows,
)


def project(make_store):
    """8 samples: s0..s5 labeled (various annotators), s6 skipped twice, s7 unlabeled."""
    store = make_store(labels=("cat", "dog"))
    ids = add_samples(store, [f"text number {i}" for i in range(8)])
    store.labels.add(ids[0], ["cat"], "ann")
    store.labels.add(ids[1], ["dog"], "ann")
    store.labels.add(ids[2], ["cat"], "bob")
    store.labels.add(ids[3], ["dog"], "bob")
    store.labels.add(ids[3], ["cat"], "ann")  # disagreement on s3; ann's label is latest
    store.labels.add(ids[4], ["dog"], "ann")
    store.labels.flag(ids[4], "ann", "blurry")
    store.labels.add(ids[5], ["cat"], "carol")
    store.labels.skip(ids[6], "ann")
    store.labels.skip(ids[6], "bob")
    confidences = [0.95, 0.6, 0.8, 0.55, 0.99, 0.7]
    preds = [
        Prediction(sid, 1, ("cat",), c, {"cat": c, "dog": 1 - c}, True)
        for sid, c in zip(ids[:6], confidences, strict=True)
    ]
    preds += [
        Prediction(ids[6], 1, ("dog",), 0.51, None, False),
        Prediction(ids[7], 1, ("cat",), 0.97, None, False),
    ]
    now = utcnow()
    store.models.record_run(
        status="ok",
        started_at=now,
        finished_at=now,
        label_count=6,
        queue=[(ids[6], 0.49)],
        predictions=preds,
    )
    return store, ids


def test_filters_narrow_the_table(make_store):
    store, ids = project(make_store)

    def ids_for(**kw):
        return [int(i) for i in review_ids(store, ReviewFilter(**kw))]

    assert ids_for() == ids[:6]
    assert review_count(store) == 6
    assert ids_for(label="cat") == [ids[0], ids[2], ids[3], ids[5]]
    assert ids_for(annotator="bob") == [ids[2]]
    assert ids_for(disagreement=True) == [ids[3]]
    assert ids_for(flagged=True) == [ids[4]]
    assert ids_for(min_confidence=0.7, max_confidence=0.96) == [ids[0], ids[2], ids[5]]
    assert ids_for(label="cat", max_confidence=0.75) == [ids[3], ids[5]]
    assert ids_for(since=utcnow() + timedelta(days=1)) == []
    assert ids_for(until=utcnow() + timedelta(days=1)) == ids[:6]
    for kw in ({"label": "dog"}, {"disagreement": False}, {"min_confidence": 0.9}):
        assert review_count(store, ReviewFilter(**kw)) == len(ids_for(**kw))
    assert annotators(store) == ["ann", "bob", "carol"]


def test_sorting_happens_in_the_query(make_store):
    store, ids = project(make_store)
    by_conf = review_ids(store, sort="confidence")
    assert list(by_conf) == [ids[3], ids[1], ids[5], ids[2], ids[0], ids[4]]
    assert list(review_ids(store, sort="confidence", descending=True)) == list(by_conf[::-1])
    assert list(review_ids(store, sort="annotator")) == [
        ids[0],
        ids[1],
        ids[3],
        ids[4],
        ids[2],
        ids[5],
    ]
    assert list(review_ids(store, sort="id", descending=True)) == ids[5::-1]
    assert list(review_ids(store, sort="external_id")) == ids[:6]
    assert isinstance(by_conf, np.ndarray) and by_conf.dtype == np.int64


def test_rows_for_a_page(make_store):
    store, ids = project(make_store)
    rows = review_rows(store, [ids[3], ids[4], ids[7]])
    assert set(rows) == {ids[3], ids[4]}  # unlabeled samples are not review rows
    r = rows[ids[3]]
    assert (r.external_id, r.snippet, r.labels, r.annotator) == (
        "s3",
        "text number 3",
        ("cat",),
        "ann",
    )
    assert r.disagreement and r.n_annotators == 2 and not r.flagged
    assert r.predicted == ("cat",) and r.confidence == 0.55
    assert rows[ids[4]].flagged


def test_adjudication_and_relabel_are_events(make_store):
    store, ids = project(make_store)
    store.labels.adjudicate(ids[3], ["dog"], "lead", comment="checked the photo")
    events = store.labels.events(sample_id=ids[3])
    assert [(e.action, e.annotator, e.labels) for e in events] == [
        ("label", "bob", ("dog",)),
        ("label", "ann", ("cat",)),
        ("adjudicate", "lead", ("dog",)),
    ]
    assert events[-1].comment == "checked the photo"
    row = review_rows(store, [ids[3]])[ids[3]]
    assert row.labels == ("dog",) and row.adjudicated and row.annotator == "lead"
    assert [int(i) for i in review_ids(store, ReviewFilter(adjudicated=True))] == [ids[3]]
    assert [int(i) for i in review_ids(store, ReviewFilter(label="dog"))] == [
        ids[1],
        ids[3],
        ids[4],
    ]
