"""Drift of an import batch against the labeled samples of earlier imports, in the project's
feature space (SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer

from labeler.learning.batch_drift import batch_drift
from tests.learning_data import add_tabular


def test_a_shifted_import_alarms_and_a_like_one_does_not(make_store):
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :8]
    order = np.random.default_rng(0).permutation(len(X))
    first, second, third = order[:250], order[250:400], order[400:]
    store = make_store(modality="tabular", labels=("malignant", "benign"))
    assert batch_drift(store)["line"] == "drift: n/a (no import)"
    names = ("malignant", "benign")
    add_tabular(store, X[first], [(names[int(k)],) for k in y[first]])
    assert batch_drift(store)["level"] == "n/a"  # nothing earlier to compare with

    add_tabular(store, X[second])  # unlabeled, same distribution
    like = batch_drift(store)
    assert like["level"] == "none", like["line"]

    shifted = X[third].copy()
    shifted[:, 3] *= 1.6  # mean area
    add_tabular(store, shifted)
    alarm = batch_drift(store)
    assert alarm["level"] == "strong", alarm["line"]
    assert alarm["line"].startswith("drift: strong (PSI ")
    assert alarm["batch"] == like["batch"] + 1
    assert batch_drift(store, like["batch"])["level"] == "none"  # an earlier batch, by id


def test_import_json_and_info_carry_the_drift_line(tmp_path, capsys):
    import json

    import pandas as pd

    from labeler.cli import main

    X, y = load_breast_cancer(return_X_y=True)
    cols = ["radius", "texture", "perimeter", "area"]
    frame = pd.DataFrame(X[:, :4], columns=cols)
    frame.insert(0, "id", [f"r{i}" for i in range(len(frame))])
    labeled = frame.iloc[:300].assign(label=["malignant" if k == 0 else "benign" for k in y[:300]])
    shifted = frame.iloc[300:].copy()
    shifted["area"] *= 1.6
    labeled.to_csv(tmp_path / "first.csv", index=False)
    shifted.to_csv(tmp_path / "second.csv", index=False)
    proj = str(tmp_path / "proj")
    assert main(["init", proj, "--modality", "tabular", "--labels", "malignant,benign"]) == 0
    assert main(["import", proj, str(tmp_path / "first.csv")]) == 0
    capsys.readouterr()
    assert main(["import", proj, str(tmp_path / "second.csv"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["drift"]["level"] == "strong" and doc["drift"]["line"].startswith("drift: strong")
    assert main(["info", proj]) == 0
    assert "drift: strong (PSI " in capsys.readouterr().out
