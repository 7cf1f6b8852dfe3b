"""Test data for the review, export and registry tests: labeled projects and trained runs
written through the same store paths the importer and the engine use."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from labeler.hashing import file_sha256
from labeler.store import Store
from labeler.store.database import utcnow
from labeler.store.label_cut import take_cut
from labeler.store.models import Prediction, RunRecord


def add_samples(
    store: Store,
    texts: Sequence[str],
    vectors: np.ndarray | None = None,
    data: Sequence[dict[str, Any]] | None = None,
    prefix: str = "s",
) -> list[int]:
    """Add samples in one import batch; returns their ids (in order)."""
    import json

    rows = []
    for i, text in enumerate(texts):
        vec = None if vectors is None else np.asarray(vectors[i], dtype="<f4").tobytes()
        payload = None if data is None else json.dumps(data[i], sort_keys=True)
        digest = hashlib.sha256(f"{prefix}-{i}-{text}-{payload}".encode()).hexdigest()
        rows.append((f"{prefix}{i}", digest, text, None, payload, vec))
    with store.samples.bulk_import("test", "0" * 64) as batch:
        return batch.add_samples(rows)


def blobs(n: int, labels: Sequence[str], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points in 4 dimensions, one well-separated Gaussian blob per label."""
    rng = np.random.default_rng(seed)
    y = np.array([labels[i % len(labels)] for i in range(n)])
    centres = {lab: rng.normal(0, 4, size=4) for lab in labels}
    X = np.stack([centres[lab] + rng.normal(0, 1, size=4) for lab in y]).astype(np.float32)
    return X, y


def labeled_project(
    store: Store, n: int = 60, seed: int = 0, annotator: str = "alice"
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Samples with 4-d vectors in blobs, each labeled by ``annotator`` with its blob's label."""
    X, y = blobs(n, store.info.label_names, seed)
    ids = add_samples(store, [f"sample {i} {y[i]}" for i in range(n)], X)
    for sid, lab in zip(ids, y, strict=True):
        store.labels.add(sid, [str(lab)], annotator)
    return ids, X, y


def record_trained_run(
    store: Store,
    ids: Sequence[int],
    X: np.ndarray,
    y: np.ndarray,
    *,
    C: float = 1.0,
    folds: int = 5,
    cut: bool = True,
) -> tuple[RunRecord, LogisticRegression]:
    """Fit, save with skops where the engine saves models, and record the run with
    cross-validated metrics and out-of-fold predictions (the engine's path), and, like the
    engine, the cut of the project's labels (``cut=False``: a run of an older Labeler)."""
    started = utcnow()
    params: dict[str, Any] = {"estimator": "LogisticRegression", "C": C}
    if cut:
        params["training_labels"] = take_cut(store)[0].to_json()
    model = LogisticRegression(C=C, max_iter=500)
    proba = cross_val_predict(model, X, y, cv=folds, method="predict_proba")
    model.fit(X, y)
    classes = [str(c) for c in model.classes_]
    oof_pred = np.array(classes)[proba.argmax(axis=1)]
    accuracy = float((oof_pred == y).mean())
    version = store.models.next_version()
    rel = f"models/v{version}.skops"
    path = store.artifacts_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path)
    preds = [
        Prediction(
            sample_id=int(sid),
            model_version=version,
            labels=(classes[int(p.argmax())],),
            confidence=float(p.max()),
            probabilities={c: float(v) for c, v in zip(classes, p, strict=True)},
            out_of_fold=True,
        )
        for sid, p in zip(ids, proba, strict=True)
    ]
    run = store.models.record_run(
        status="ok",
        started_at=started,
        finished_at=utcnow(),
        label_count=len(ids),
        strategy="margin",
        params=params,
        metrics={"accuracy": accuracy, "n_folds": folds},
        durations={"fit": 0.01},
        artifact=rel,
        predictions=preds,
        sha256=file_sha256(path),  # as the engine records it at training
    )
    return run, model
