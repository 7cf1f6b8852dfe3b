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


def test_every_check_is_recorded_per_batch_and_reused_until_labels_change(make_store):
    from labeler.store.drift_records import drift_by_batch

    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :8]
    order = np.random.default_rng(1).permutation(len(X))
    first, second, third = order[:250], order[250:400], order[400:]
    names = ("malignant", "benign")
    store = make_store(modality="tabular", labels=names)
    add_tabular(store, X[first], [(names[int(k)],) for k in y[first]])
    add_tabular(store, X[second])
    shifted = X[third].copy()
    shifted[:, 0] *= 1.6  # mean radius
    add_tabular(store, shifted)
    batches = drift_by_batch(store)
    assert [r.level for r in batches] == ["unchecked"] * 3

    like = batch_drift(store, batches[1].batch_id)
    alarm = batch_drift(store)  # the newest: batch 3
    rows = drift_by_batch(store)
    assert [r.level for r in rows] == ["unchecked", "none", "strong"]
    assert rows[2].line == alarm["line"] and rows[2].feature == "f0"
    assert rows[2].n_reference == 250 and rows[2].n_batch == len(third)
    assert rows[1].score == like["score"] and rows[1].checked_at is not None
    # the recorded scores are where this check alarms, its sampling floor included
    assert rows[2].details["strong_at"] >= 0.25 and rows[2].score >= rows[2].details["strong_at"]
    assert rows[1].score < rows[1].details["moderate_at"]

    again = batch_drift(store)  # nothing changed: the record is the answer
    assert again.get("recorded") is True and again["line"] == alarm["line"]
    assert len(store.dump()["batch_drift"]) == 2

    label_ids = [int(i) for i in store.labels.unlabeled_ids()[:5]]
    for sid in label_ids:
        store.labels.add(sid, ["benign"], "ann")
    fresh = batch_drift(store)  # a label changes the reference: checked again
    assert "recorded" not in fresh and len(store.dump()["batch_drift"]) == 3
    assert drift_by_batch(store)[2].level == "strong"


def test_a_retrain_checks_the_batches_imported_in_the_app(make_store):
    """Batches imported without a check (e.g. in the app) are checked after the next
    retrain, in the process that trained, with the features it just computed."""
    from labeler.learning.after_run import after_retrain
    from labeler.learning.settings import TrainSettings
    from labeler.learning.training import train_once
    from labeler.store.drift_records import drift_by_batch

    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :6]
    order = np.random.default_rng(2).permutation(len(X))
    names = ("malignant", "benign")
    store = make_store(modality="tabular", labels=names)
    add_tabular(store, X[order[:300]], [(names[int(k)],) for k in y[order[:300]]])
    add_tabular(store, X[order[300:]] * np.array([1, 1, 1, 1.7, 1, 1]))  # mean area larger
    settings = TrainSettings(queue_size=10, cv_folds=2)
    run = train_once(store.location, settings)
    assert run.status == "ok"
    after = after_retrain(store.location, settings, run)
    assert after.warnings == [] and after.tracking is None  # no tracking URI: none
    assert [d["level"] for d in after.drift] == ["n/a", "strong"]
    assert [r.level for r in drift_by_batch(store)] == ["n/a", "strong"]
    # a second retrain finds nothing new to check (batch 1 never has anything earlier to
    # compare with): no row per retrain
    again = after_retrain(store.location, settings, train_once(store.location, settings))
    assert again.drift == [] and len(store.dump()["batch_drift"]) == 2


def test_frame_drift_in_a_models_feature_space():
    """What ``labeler predict`` calls: raw rows through a fitted feature step."""
    import pandas as pd
    import pytest
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from labeler.errors import LabelerError
    from labeler.learning.batch_drift import frame_drift

    data = load_breast_cancer(as_frame=True)
    frame = data.frame[list(data.feature_names[:6])]
    order = np.random.default_rng(3).permutation(len(frame))
    train, same = frame.iloc[order[:350]], frame.iloc[order[350:]]
    pipeline = make_pipeline(StandardScaler()).fit(train)
    transform = pipeline.transform
    ok = frame_drift(train, same, transform=transform)
    assert ok["level"] == "none" and ok["method"] == "psi", ok["line"]
    shifted = same.assign(**{"mean area": same["mean area"] * 1.6})
    alarm = frame_drift(train, shifted, transform=transform)
    assert alarm["level"] == "strong" and alarm["feature"] == "mean area", alarm["line"]
    assert alarm["line"].startswith("drift: strong (PSI ")
    # a domain classifier on request (embeddings, text), and matrices as they are
    auc = frame_drift(transform(train), transform(shifted), kind="vectors")
    assert auc["method"] == "domain-auc" and auc["line"].endswith(f"(AUC {auc['score']:.2f})")
    with pytest.raises(LabelerError, match="not in one feature space"):
        frame_drift(train, pd.DataFrame(np.zeros((50, 3))))


def test_a_batch_checked_before_anything_was_labeled_is_checked_again_once_it_can_be(
    make_store,
):
    from labeler.learning.batch_drift import check_unchecked_batches
    from labeler.store.drift_records import drift_by_batch

    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :5]
    order = np.random.default_rng(4).permutation(len(X))
    names = ("malignant", "benign")
    store = make_store(modality="tabular", labels=names)
    first = add_tabular(store, X[order[:200]])  # nothing labeled yet
    add_tabular(store, X[order[200:350]])
    assert [d["level"] for d in check_unchecked_batches(store)] == ["n/a", "n/a"]
    assert check_unchecked_batches(store) == []  # nothing changed: nothing rechecked
    for sid, k in zip(first, y[order[:200]], strict=True):
        store.labels.add(sid, [names[int(k)]], "ann")
    [checked] = check_unchecked_batches(store)  # batch 2 can be compared now; batch 1 never
    assert checked["level"] == "none" and checked["n_reference"] == 200
    assert [r.level for r in drift_by_batch(store)] == ["n/a", "none"]
