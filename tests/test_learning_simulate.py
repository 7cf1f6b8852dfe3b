"""simulate: the replay itself, its report and the digits claim (margin vs random)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from labeler.learning.simulate import SimulateError, prepare, schedule, simulate


def test_schedule_starts_small_and_grows_by_about_ten_percent() -> None:
    counts = schedule(20, 300, min_step=10)
    assert counts[:4] == [20, 30, 40, 50]
    assert counts[-1] == 300 and counts == sorted(set(counts))
    steps = np.diff(counts)
    assert steps[-2] >= 0.1 * counts[-3]


def test_report_shape_and_labels_to_targets() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["y"] = np.where(X[:, 0] + 0.3 * X[:, 1] > 0, "pos", "neg")
    table = prepare(frame, "y", source="synthetic")
    doc = simulate(table, ["entropy"], seeds=2, budget=60)
    assert set(doc["strategies"]) == {"random", "entropy"}
    assert doc["budget"] == 60 and doc["initial_labels"] == 10 and doc["seeds"] == 2
    full = doc["full_score"]
    for entry in doc["strategies"].values():
        curve = np.asarray(entry["curve"])
        assert curve[0, 0] == 10 and curve[-1, 0] == 60
        reach = entry["labels_to_95"]
        if reach is not None:  # the first count whose mean curve crosses is never later
            per_seed = [v for v in entry["per_seed_labels_to_95"] if v is not None]
            assert min(per_seed) <= reach <= max(per_seed)
            assert curve[curve[:, 0] >= max(per_seed)][:, 1].max() >= 0.9 * full


def test_rows_without_a_label_are_left_out() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0], "y": ["p", "q", None, "p", "q"]})
    table = prepare(frame, "y")
    assert table.dropped == 1 and len(table.y) == 4


def test_identifier_columns_are_not_features() -> None:
    # The demo's truth.csv and most exports carry an id column next to the data: a value
    # unique per row says nothing about the class, and it must not stop text detection.
    texts = [f"word{i % 3} other{i % 3} filler text" for i in range(12)]
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(12)],
            "text": texts,
            "label": [f"k{i % 3}" for i in range(12)],
        }
    )
    table = prepare(frame, "label")
    assert table.kind == "text" and table.ignored == ["id"]
    numeric = pd.DataFrame(
        {
            "ID": np.arange(12),
            "key": [f"row-{i}" for i in range(12)],
            "a": np.linspace(0, 1, 12),
            "colour": ["red", "blue"] * 6,
            "label": ["p", "q"] * 6,
        }
    )
    table = prepare(numeric, "label")
    assert table.kind == "tabular" and table.ignored == ["ID", "key"]
    assert table.X.shape == (12, 1 + 3)  # a, colour=blue, colour=red, colour=<other>
    with pytest.raises(SimulateError, match="no feature columns besides 'label'"):
        prepare(pd.DataFrame({"id": ["a", "b", "c", "d"], "label": ["p", "q", "p", "q"]}), "label")


def test_a_class_with_one_row_is_refused() -> None:
    frame = pd.DataFrame({"a": np.arange(10.0), "y": ["p"] * 9 + ["q"]})
    with pytest.raises(SimulateError, match="class 'q' has only one row"):
        simulate(prepare(frame, "y"), ["margin"], seeds=1, budget=5)


@pytest.mark.slow
def test_margin_needs_at_most_half_of_randoms_labels_on_digits() -> None:
    digits = load_digits()
    frame = pd.DataFrame(digits.data, columns=[f"px{i}" for i in range(64)])
    frame["digit"] = digits.target
    doc = simulate(prepare(frame, "digit", source="digits"), ["margin"], seeds=1, budget=700)
    margin = doc["strategies"]["margin"]["labels_to_98"]
    random = doc["strategies"]["random"]["labels_to_98"]
    assert margin is not None and random is not None
    assert margin <= 0.5 * random
