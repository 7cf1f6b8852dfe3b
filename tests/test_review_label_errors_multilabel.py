"""Suspected label errors in multi-label projects (one-vs-rest, both directions) and the
weak-model guard, on projects trained by the real engine or with real out-of-fold fits."""

from __future__ import annotations

import numpy as np
import pytest
from _review_data import add_samples, record_trained_run

from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from labeler.review.label_errors import find_label_issues, find_multilabel_issues
from labeler.review.service import refresh_suspects
from labeler.store.review_queries import ReviewFilter, review_count, review_ids, suspects
from tests.learning_data import add_tabular

LABELS = ("red", "green", "blue")


def test_both_directions_by_hand():
    classes = ["x", "y"]
    # x is learnable; sample 4 lacks x although the model is sure of it, sample 5 has y
    # although the model is sure it is absent
    probs = np.array(
        [[0.9, 0.2], [0.8, 0.9], [0.1, 0.8], [0.2, 0.1], [0.95, 0.1], [0.1, 0.05], [0.1, 0.9]]
    )
    given = [("x",), ("x", "y"), ("y",), (), (), ("y",), ("y",)]
    frame = find_multilabel_issues(range(7), given, probs, classes)
    rows = {r.sample_id: r for r in frame.itertuples()}
    assert set(rows) == {4, 5}
    assert (rows[4].given, rows[4].suggested) == ((), ("x",))
    assert (rows[5].given, rows[5].suggested) == (("y",), ())
    # score = 1 - p_given / threshold of the given state: sample 4 lacks x, and samples
    # without x have a mean 1 - p_x of 0.71; sample 5 has y, samples with y a mean p_y of 0.6625
    assert rows[4].p_suggested == 0.95
    assert rows[4].score == pytest.approx(1 - 0.05 / 0.71)
    assert rows[5].score == pytest.approx(1 - 0.05 / 0.6625)
    assert list(frame["sample_id"]) == [4, 5]


def corrupted_multilabel(n: int = 240, seed: int = 0):
    """Tabular samples whose label j is present iff feature j is positive (clear margin),
    plus noise features; 10 % of the samples get a removed, added or swapped label."""
    rng = np.random.default_rng(seed)
    truth = rng.random((n, 3)) < 0.4
    signal = np.where(truth, 1.0, -1.0) * (1.2 + np.abs(rng.normal(0, 0.6, (n, 3))))
    X = np.hstack([signal, rng.normal(size=(n, 3))])
    true_sets = [tuple(c for c, on in zip(LABELS, row, strict=True) if on) for row in truth]
    given = list(true_sets)
    picks = rng.choice([i for i in range(n) if 0 < len(true_sets[i]) < 3], 24, replace=False)
    for k, i in enumerate(picks):
        have = [c for c in LABELS if c in true_sets[i]]
        lack = [c for c in LABELS if c not in true_sets[i]]
        kind = k % 3
        if kind == 0:  # a label removed
            drop = have[0]
            given[i] = tuple(c for c in true_sets[i] if c != drop)
        elif kind == 1:  # a label added
            given[i] = tuple(c for c in LABELS if c in true_sets[i] or c == lack[0])
        else:  # one label swapped for another
            given[i] = tuple(
                c for c in LABELS if (c in true_sets[i] and c != have[0]) or c == lack[0]
            )
    return X, true_sets, given, set(int(i) for i in picks)


def test_corrupted_multilabel_project_finds_the_corrupted_samples(make_store):
    store = make_store(modality="tabular", labels=LABELS, task_type="multi-label")
    X, true_sets, given, corrupted = corrupted_multilabel()
    # every sample labeled (an empty label set is not a label event: leave those out)
    ids = add_tabular(store, X, [g if g else None for g in given])
    run = train_once(store.location, TrainSettings(queue_size=5, cv_folds=5))
    assert run.status == "ok", run.error

    frame = refresh_suspects(store)
    row_of = {sid: i for i, sid in enumerate(ids)}
    found = {row_of[int(s)] for s in frame["sample_id"]}
    labeled_corrupted = {i for i in corrupted if given[i]}
    precision = len(found & labeled_corrupted) / max(len(found), 1)
    recall = len(found & labeled_corrupted) / len(labeled_corrupted)
    assert precision >= 0.9, (precision, len(found))
    assert recall >= 0.8, recall
    # the corrupted ones rank first, and most suggestions restore the true label set
    top = [row_of[int(s)] for s in frame["sample_id"].head(len(labeled_corrupted))]
    assert len(set(top) & labeled_corrupted) >= 0.9 * len(labeled_corrupted) * recall
    fixed = [
        r
        for r in frame.itertuples()
        if row_of[int(r.sample_id)] in corrupted
        and set(r.suggested) == set(true_sets[row_of[int(r.sample_id)]])
    ]
    assert len(fixed) >= 0.8 * len(found & labeled_corrupted)
    # both directions were found
    kinds = {
        (len(r.suggested) > len(r.given)) - (len(r.suggested) < len(r.given))
        for r in frame.itertuples()
    }
    assert {-1, 1} <= kinds

    # stored for review mode: the suspected-error filter and ranking work for multi-label
    stored = suspects(store)
    assert [s.sample_id for s in stored] == list(frame["sample_id"])
    assert all(isinstance(s.given, tuple) and isinstance(s.suggested, tuple) for s in stored)
    assert review_count(store, ReviewFilter(suspected=True)) == len(frame)
    ranked = review_ids(store, ReviewFilter(suspected=True), sort="suspect", descending=True)
    assert list(ranked) == list(frame["sample_id"])


def test_only_labels_the_model_learned_are_judged():
    rng = np.random.default_rng(3)
    n = 300
    learnable = rng.random(n) < 0.5
    noise = rng.random(n) < 0.5
    # OOF-like probabilities: confident and right for "x", coin-flips around 0.5 for "y"
    px = np.where(learnable, rng.uniform(0.85, 0.99, n), rng.uniform(0.01, 0.15, n))
    py = np.clip(0.5 + rng.normal(0, 0.3, n), 0.01, 0.99)
    given = [
        tuple(c for c, on in (("x", a), ("y", b)) if on)
        for a, b in zip(learnable, noise, strict=True)
    ]
    flipped = rng.choice(n, 15, replace=False)
    for i in flipped:  # toggle "x", keep "y"
        has_x, has_y = "x" in given[i], "y" in given[i]
        given[i] = tuple(c for c, on in (("x", not has_x), ("y", has_y)) if on)
    frame = find_multilabel_issues(range(n), given, np.column_stack([px, py]), ["x", "y"])
    changed = [set(r.given) ^ set(r.suggested) for r in frame.itertuples()]
    assert changed and all(c == {"x"} for c in changed)  # "y" is never judged
    found = set(frame["sample_id"])
    assert found <= set(int(i) for i in flipped) and len(found) >= 10
    unguarded = find_multilabel_issues(
        range(n), given, np.column_stack([px, py]), ["x", "y"], min_skill=-np.inf
    )
    assert len(unguarded) > len(frame) + 20  # without the guard, "y" floods the list


def test_a_model_no_better_than_the_class_frequencies_reports_nothing(make_store):
    store = make_store(labels=LABELS)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(150, 4)).astype(np.float32)  # features unrelated to the labels
    y = rng.choice(LABELS, 150)
    ids = add_samples(store, [f"x{i}" for i in range(150)], X)
    for sid, lab in zip(ids, y, strict=True):
        store.labels.add(sid, [str(lab)], "alice")
    record_trained_run(store, ids, X, y)

    frame = refresh_suspects(store)
    assert frame.empty and "not better than the class frequencies" in frame.attrs["note"]
    assert suspects(store) == []
    # the same out-of-fold probabilities without the guard flag a large share of samples
    preds = store.models.predictions(ids)
    probs = np.array([[preds[s].probabilities[c] for c in LABELS] for s in ids])
    unguarded = find_label_issues(ids, list(y), probs, LABELS, min_skill=-np.inf)
    assert len(unguarded) > 0.3 * len(ids)
