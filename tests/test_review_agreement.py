"""Agreement figures against hand-computed values."""

from __future__ import annotations

import math

import pytest
from _review_data import add_samples

from labeler.review.agreement import agreement_report, cohen_kappa, krippendorff_alpha_nominal


def test_cohen_kappa_by_hand():
    # 10 items, two raters. Table (rows A, cols B): yes/yes 4, yes/no 1, no/yes 2, no/no 3.
    a = ["y"] * 5 + ["n"] * 5
    b = ["y", "y", "y", "y", "n", "y", "y", "n", "n", "n"]
    # p_o = (4 + 3) / 10 = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = 0.2 / 0.5 = 0.4
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == 1.0
    # systematic disagreement: p_o = 0, p_e = 0.5 -> kappa = -1
    assert cohen_kappa(["y", "n"], ["n", "y"]) == pytest.approx(-1.0)
    assert math.isnan(cohen_kappa([], []))


def test_krippendorff_alpha_nominal_by_hand():
    # Two coders, 4 units: (a,a) (a,b) (b,b) (b,b).
    # Coincidences: o_aa = 2, o_ab = o_ba = 1, o_bb = 4; n_a = 3, n_b = 5, n = 8.
    # alpha = 1 - (n - 1) * (o_ab + o_ba) / (n_a n_b + n_b n_a) = 1 - 7 * 2 / 30 = 8 / 15
    units = [["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]
    assert krippendorff_alpha_nominal(units) == pytest.approx(8 / 15)
    # a unit with one value is not pairable and does not change the result
    assert krippendorff_alpha_nominal([*units, ["a"]]) == pytest.approx(8 / 15)


def test_krippendorff_alpha_reference_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example:
    # 4 observers, 12 units with missing values; published alpha = 0.743.
    table = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[row[u] for row in table if row[u] is not None] for u in range(12)]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)


def test_report_from_the_label_log_uses_active_labels_only(make_store):
    store = make_store(labels=("y", "n"))
    ids = add_samples(store, [f"t{i}" for i in range(10)])
    a = ["y"] * 5 + ["n"] * 5
    b = ["y", "y", "y", "y", "n", "y", "y", "n", "n", "n"]
    for sid, la, lb in zip(ids, a, b, strict=True):
        store.labels.add(sid, [la], "ann")
        store.labels.add(sid, [lb], "bob")
    # carol labels one sample, then undoes it: she is not part of the figures
    store.labels.add(ids[0], ["n"], "carol")
    store.labels.undo("carol")
    # ann's latest label counts: a relabel of item 4 from y to n makes it agree with bob
    store.labels.add(ids[4], ["n"], "ann")

    report = agreement_report(store.labels.by_annotator())
    assert report.annotators == ["ann", "bob"]
    assert report.items == 10 and report.disagreements == 2
    [pair] = report.pairs.itertuples()
    # now: yes/yes 4, no/yes 2, no/no 4 -> p_o = 0.8, p_e = 0.4*0.6 + 0.6*0.4 = 0.48
    assert pair.kappa == pytest.approx((0.8 - 0.48) / (1 - 0.48))
    assert pair.agreement == pytest.approx(0.8)
    assert pair.items == 10
