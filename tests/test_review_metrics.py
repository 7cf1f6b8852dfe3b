"""Confusion matrix, per-class metrics, class balance, learning curve, plots as PNG."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from _review_data import labeled_project, record_trained_run
from PIL import Image

from labeler.review.metrics import (
    class_balance,
    confusion_matrix,
    learning_curve,
    per_class_metrics,
)
from labeler.review.service import PLOT_NAMES, save_plots, summarize
from labeler.store.database import utcnow


def test_confusion_and_per_class_by_hand():
    given = [("a",), ("a",), ("a",), ("b",), ("b",), ("c",)]
    pred = [("a",), ("a",), ("b",), ("b",), ("a",), ("c",)]
    m = confusion_matrix(given, pred, ["a", "b", "c"])
    assert m.loc["a"].tolist() == [2, 1, 0]
    assert m.loc["b"].tolist() == [1, 1, 0]
    assert m.loc["c"].tolist() == [0, 0, 1]
    pc = per_class_metrics(given, pred, ["a", "b", "c"]).set_index("label")
    # a: tp 2, fp 1, fn 1 -> P = R = F1 = 2/3; b: tp 1, fp 1, fn 1 -> 1/2; c: perfect
    assert pc.loc["a", "precision"] == pytest.approx(2 / 3)
    assert pc.loc["b", "recall"] == pytest.approx(1 / 2)
    assert pc.loc["c", "f1"] == 1.0
    assert pc["support"].tolist() == [3, 2, 1]


def test_class_balance_counts_each_label_of_multi_label_samples():
    current = pd.DataFrame({"sample_id": [1, 2, 3], "labels": [("x", "y"), ("x",), ("z",)]})
    assert class_balance(current, ["x", "y", "z", "w"]).to_dict() == {
        "x": 2,
        "y": 1,
        "z": 1,
        "w": 0,
    }


def test_learning_curve_from_run_records_skips_failed_runs(make_store):
    store = make_store(labels=("a", "b", "c"))
    ids, X, y = labeled_project(store, n=60)
    record_trained_run(store, ids[:30], X[:30], y[:30])
    now = utcnow()
    store.models.record_run(
        status="failed", started_at=now, finished_at=now, label_count=45, error="boom"
    )
    record_trained_run(store, ids, X, y)
    curve = learning_curve(store.models.runs())
    assert curve["labels"].tolist() == [30, 60]
    assert curve["model_version"].tolist() == [1, 2]
    assert curve["metric"].tolist() == ["accuracy", "accuracy"]


def test_summary_and_every_plot_is_a_png(make_store, tmp_path):
    store = make_store(labels=("a", "b", "c"))
    ids, X, y = labeled_project(store, n=60)
    store.labels.add(ids[0], ["b"], "bob")
    record_trained_run(store, ids, X, y)
    summary = summarize(store)
    assert summary.labeled == 60 and summary.evaluated == 60 and summary.model_version == 1
    assert int(summary.confusion.to_numpy().sum()) == 60
    assert summary.balance.sum() == 60
    assert summary.agreement.items == 1
    paths = save_plots(summary, tmp_path / "plots", prefix="review-")
    assert [p.name for p in paths] == [f"review-{n}.png" for n in PLOT_NAMES]
    for p in paths:
        with Image.open(io.BytesIO(p.read_bytes())) as img:
            assert img.format == "PNG" and img.size[0] > 400


def test_plots_of_an_empty_project(make_store, tmp_path):
    store = make_store()
    paths = save_plots(summarize(store), tmp_path)
    assert len(paths) == len(PLOT_NAMES) and all(p.stat().st_size > 0 for p in paths)
