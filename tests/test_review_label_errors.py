"""Suspected label errors: deliberately flipped labels are found and ranked first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _review_data import add_samples, blobs, record_trained_run

from labeler.review.label_errors import find_label_issues
from labeler.review.service import refresh_suspects
from labeler.store.review_queries import ReviewFilter, review_count, review_ids, suspects


def test_confident_learning_by_hand():
    classes = ["a", "b"]
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.2, 0.8], [0.9, 0.1]])
    given = ["a", "a", "b", "b", "b"]  # the last one looks like an "a"
    # thresholds: t_a = mean(0.9, 0.8) = 0.85; t_b = mean(0.7, 0.8, 0.1) = 0.533
    # sample 14: p_a = 0.9 >= t_a, p_b = 0.1 < t_b -> labeled b, confidently a
    frame = find_label_issues([10, 11, 12, 13, 14], given, probs, classes)
    assert list(frame["sample_id"]) == [14]
    row = frame.iloc[0]
    assert (row["given"], row["suggested"]) == ("b", "a")
    assert row["score"] == pytest.approx(1 - 0.1)  # 1 - p_given


def test_flagged_samples_rank_by_the_probability_of_their_given_label():
    classes = ["a", "b", "c"]
    # "a" is easy (the model believes right a's at 0.9), "c" is hard (right c's at 0.5).
    probs = np.array(
        [
            [0.9, 0.05, 0.05],  # 0: a
            [0.9, 0.05, 0.05],  # 1: a
            [0.9, 0.05, 0.05],  # 2: a
            [0.3, 0.6, 0.1],  # 3: labeled a, p_a = 0.3: a third of what a usually gets
            [0.1, 0.8, 0.1],  # 4: b
            [0.1, 0.8, 0.1],  # 5: b
            [0.2, 0.3, 0.5],  # 6: c
            [0.2, 0.3, 0.5],  # 7: c
            [0.1, 0.7, 0.2],  # 8: labeled c, p_c = 0.2: less likely right than sample 3
            [0.35, 0.45, 0.2],  # 9: labeled c, as sample 8 (a tie: by sample id)
        ]
    )
    given = ["a", "a", "a", "a", "b", "b", "c", "c", "c", "c"]
    frame = find_label_issues(range(10), given, probs, classes)
    # by p_given, whatever the class (the threshold ratio 1 - p / t would put 3 first)
    assert list(frame["sample_id"]) == [8, 9, 3]
    np.testing.assert_allclose(frame["score"], [0.8, 0.8, 0.7])
    np.testing.assert_allclose(frame["p_given"], [0.2, 0.2, 0.3])
    assert list(frame["suggested"]) == ["b", "b", "b"]


def test_flipped_labels_are_found_and_ranked_first(make_store):
    store = make_store(labels=("a", "b", "c"))
    X, y = blobs(150, ["a", "b", "c"], seed=3)
    rng = np.random.default_rng(7)
    flipped = rng.choice(150, size=10, replace=False)
    noisy = y.copy()
    for i in flipped:
        noisy[i] = {"a": "b", "b": "c", "c": "a"}[y[i]]
    ids = add_samples(store, [f"x{i}" for i in range(150)], X)
    for sid, lab in zip(ids, noisy, strict=True):
        store.labels.add(sid, [str(lab)], "alice")
    record_trained_run(store, ids, X, noisy)

    frame = refresh_suspects(store)
    flipped_ids = {ids[i] for i in flipped}
    found = set(frame["sample_id"])
    assert len(found & flipped_ids) >= 9  # recall
    top = set(frame["sample_id"].head(10))
    assert len(top & flipped_ids) >= 9  # the flipped ones rank first
    by_id = frame.set_index("sample_id")
    for i in flipped:
        if ids[i] in by_id.index:
            assert by_id.loc[ids[i], "suggested"] == y[i]  # the true label is suggested

    # stored for the review table: filter and sort by it
    stored = suspects(store)
    assert [s.sample_id for s in stored] == list(frame["sample_id"])
    assert review_count(store, ReviewFilter(suspected=True)) == len(frame)
    ranked = review_ids(store, ReviewFilter(suspected=True), sort="suspect", descending=True)
    assert list(ranked) == list(frame["sample_id"])
    assert review_count(store, ReviewFilter(suspected=False)) == 150 - len(frame)


def test_no_model_means_no_suspects(make_store):
    store = make_store()
    ids = add_samples(store, ["a", "b"])
    store.labels.add(ids[0], ["pos"], "alice")
    assert refresh_suspects(store).empty
    assert suspects(store) == []
    assert isinstance(refresh_suspects(store), pd.DataFrame)
