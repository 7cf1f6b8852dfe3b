"""Review mode with label names that need escaping or quoting in SQL or JSON (quotes,
backslashes, path characters, non-ASCII) and labels that differ only in case or in a LIKE
wildcard: probabilities are read exactly and the label filter matches exactly, on both back
ends."""

from __future__ import annotations

import numpy as np
from _review_data import add_samples

from labeler.review.service import refresh_suspects
from labeler.store.database import utcnow
from labeler.store.models import Prediction
from labeler.store.review_stats import oof_probabilities
from labeler.store.review_table import ReviewFilter, review_ids

ODD = (
    'say "hi"',
    "back\\slash",
    "it's",
    "a.b",
    "$root",
    "x[0]",
    "two words",
    "café 猫",
    '\\"',
    "plain",
)


def record_predictions(store, predictions):
    now = utcnow()
    store.models.record_run(
        status="ok",
        started_at=now,
        finished_at=now,
        label_count=len(predictions),
        predictions=predictions,
    )


def test_probabilities_of_every_label_name_are_read_exactly(make_store):
    store = make_store(labels=ODD)
    ids = add_samples(store, [f"text {i}" for i in range(len(ODD))])
    predictions = []
    expected = np.zeros((len(ODD), len(ODD)))
    for i, (sid, label) in enumerate(zip(ids, ODD, strict=True)):
        store.labels.add(sid, [label], "alice")
        # the given label gets 33/64, each other class (i + k) / 1024, except one left out
        probs = {lab: (i + k) / 1024 for k, lab in enumerate(ODD) if k != (i + 1) % len(ODD)}
        probs[label] = 33 / 64
        for k, lab in enumerate(ODD):
            expected[i, k] = probs.get(lab, 0.0)
        predictions.append(Prediction(sid, 1, (label,), 33 / 64, probs, True))
    record_predictions(store, predictions)

    got = oof_probabilities(store, list(ODD))

    assert [int(s) for s in got.sample_ids] == ids
    assert got.given == [(lab,) for lab in ODD]
    np.testing.assert_array_equal(got.probs, expected)
    # a confident model that agrees with every given label suspects none of them
    assert refresh_suspects(store).empty


def test_label_filter_matches_the_label_exactly(make_store):
    labels = ("cat", "Cat", "a_b", "axb", "a%b", "a%%b", 'q"', "back\\", "café")
    store = make_store(labels=labels, task_type="multi-label")
    ids = add_samples(store, [f"text {i}" for i in range(len(labels) + 2)])
    for sid, label in zip(ids[: len(labels)], labels, strict=True):
        store.labels.add(sid, [label], "alice")
    store.labels.add(ids[-2], ["Cat", "axb"], "alice")
    store.labels.add(ids[-1], ["cat", "a%%b"], "alice")

    def ids_for(label):
        return [int(i) for i in review_ids(store, ReviewFilter(label=label))]

    assert ids_for("cat") == [ids[0], ids[-1]]
    assert ids_for("Cat") == [ids[1], ids[-2]]
    assert ids_for("a_b") == [ids[2]]
    assert ids_for("axb") == [ids[3], ids[-2]]
    assert ids_for("a%b") == [ids[4]]
    assert ids_for("a%%b") == [ids[5], ids[-1]]
    assert ids_for('q"') == [ids[6]]
    assert ids_for("back\\") == [ids[7]]
    assert ids_for("café") == [ids[8]]
    assert ids_for("CAT") == []
    assert ids_for("ca") == []
