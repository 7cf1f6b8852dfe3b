"""A pushed pipeline is an MLflow pyfunc model: loaded by ``models:/NAME@champion`` in a fresh
process (real SQLite tracking store), it scores raw rows as the project's own pipeline does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeler.learning.artifact import load_run_pipeline
from labeler.learning.pipeline import predict_frame, store_frame
from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from labeler.registry import open_registry
from labeler.registry.push import push_project_model
from labeler.store import Store
from tests.learning_data import add_tabular, add_texts, blobs

SCRIPT = """
import json, sys
import mlflow, pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_registry_uri(sys.argv[1])
model = mlflow.pyfunc.load_model("models:/" + sys.argv[2] + "@champion")
frame = pd.read_json(sys.argv[3], orient="split")
out = model.predict(frame)
import labeler
print(json.dumps({"out": out.to_dict(orient="list"), "labeler": labeler.__file__,
    "inputs": [c.name for c in model.metadata.get_input_schema().inputs]}))
"""


def _run(tmp_path: Path, tracking: str, name: str, frame: pd.DataFrame) -> dict:
    frame_path = tmp_path / "frame.json"
    frame.to_json(frame_path, orient="split")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI")}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, tracking, name, str(frame_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository: labeler comes from the model's own code copy
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_pyfunc_loads_and_predicts_raw_tabular_rows_in_a_fresh_process(tmp_path) -> None:
    import mlflow

    X, y = blobs(n=120, n_classes=3, n_features=3, seed=4)
    colour = [("red", "green", None)[i % 3] for i in range(120)]
    store = Store.create(tmp_path / "proj", modality="tabular", labels=["c0", "c1", "c2"])
    try:
        ids = add_tabular(store, X, [(v,) for v in y], {"colour": colour})
        run = train_once(store.location, TrainSettings(queue_size=5, cv_folds=3))
        assert run.status == "ok", run.error
        before = mlflow.get_tracking_uri()
        tracking = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
        (tmp_path / "mlflow").mkdir()
        push_project_model(store, open_registry("mlflow:" + tracking))
        assert mlflow.get_tracking_uri() == before  # no global MLflow state leaked
        pipeline = load_run_pipeline(store, run)
        frame = store_frame(store, ids[:20], pipeline.labeler_info_)
        expected_labels, expected = predict_frame(pipeline, frame)
    finally:
        store.close()
    got = _run(tmp_path, tracking, "proj", frame)
    assert got["labeler"].startswith(str(tmp_path / "mlflow"))  # the model's code copy
    assert set(got["inputs"]) == {"f0", "f1", "f2", "colour"}
    assert got["out"]["label"] == [lab[0] for lab in expected_labels]
    for j, c in enumerate(["c0", "c1", "c2"]):
        np.testing.assert_allclose(got["out"][f"proba_{c}"], expected[:, j], rtol=1e-6)


@pytest.mark.slow
def test_pyfunc_text_model_takes_one_string_column(tmp_path) -> None:
    texts = [
        f"{w} {w} game {i}" if i % 2 else f"{w} code chip {i}"
        for i, w in enumerate(["alpha", "beta", "gamma", "delta"] * 10)
    ]
    labels = [("sport",) if i % 2 else ("tech",) for i in range(40)]
    store = Store.create(tmp_path / "txt", modality="text", labels=["sport", "tech"])
    try:
        add_texts(store, texts, labels)
        settings = TrainSettings(queue_size=5, cv_folds=3)
        run = train_once(store.location, settings)
        assert run.status == "ok", run.error
        tracking = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
        (tmp_path / "mlflow").mkdir()
        push_project_model(store, open_registry("mlflow:" + tracking))
    finally:
        store.close()
    frame = pd.DataFrame({"text": ["code chip server", "game game match"]})
    got = _run(tmp_path, tracking, "txt", frame)
    assert got["inputs"] == ["text"]
    assert got["out"]["label"] == ["tech", "sport"]
