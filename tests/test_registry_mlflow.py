"""The MLflow back end against a real local tracking store (SQLite) under tmp_path."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _review_data import labeled_project, record_trained_run

from labeler.cli import main
from labeler.registry import open_registry
from labeler.registry.promotion import Holdout
from labeler.registry.push import push_project_model
from labeler.registry.trust import ModelIntegrityError


@pytest.fixture
def mlflow_uri(tmp_path):
    return f"mlflow:sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"


@pytest.fixture
def trained(tmp_path):
    from labeler.store import Store

    store = Store.create(tmp_path / "proj", modality="text", labels=["a", "b", "c"])
    ids, X, y = labeled_project(store, n=60)
    run, model = record_trained_run(store, ids, X, y)
    yield store, ids, X, y, run, model
    store.close()


@pytest.mark.slow
def test_push_logs_run_dataset_signature_and_loads_back_identically(trained, mlflow_uri, tmp_path):
    import mlflow
    from mlflow import MlflowClient

    (tmp_path / "mlflow").mkdir()
    store, ids, X, y, run, model = trained
    store.labels.add(ids[0], ["b" if y[0] != "b" else "c"], "bob")  # after the training run
    registry = open_registry(mlflow_uri)
    result = push_project_model(store, registry)
    v = result.version
    assert (v.name, v.version, v.aliases) == ("proj", 1, ["candidate", "champion"])
    loaded = registry.load("proj", "champion")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))

    tracking = mlflow_uri[len("mlflow:") :]
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    mv = client.get_model_version_by_alias("proj", "champion")
    logged = client.get_run(mv.run_id)
    assert logged.data.metrics["accuracy"] == pytest.approx(run.metrics["accuracy"])
    assert logged.data.params["C"] == "1.0"
    [dataset_input] = logged.inputs.dataset_inputs
    assert dataset_input.dataset.source and "proj-v1.parquet" in dataset_input.dataset.source
    assert [t.value for t in dataset_input.tags if t.key == "mlflow.data.context"] == ["training"]
    # exact lineage: the logged dataset is the run's label set, with its full hashes
    tags = {t.key: t.value for t in dataset_input.tags}
    assert tags["labeler.sha256"] == result.snapshot.manifest["sha256"]
    assert tags["labeler.label_set_sha256"] == run.params["training_labels"]["sha256"]
    assert tags["labeler.as_of_event"] == str(run.params["training_labels"]["as_of_event"])
    assert dataset_input.dataset.digest == result.snapshot.manifest["sha256"][:36]
    snap = pd.read_parquet(result.snapshot.path).set_index("id")
    assert snap.loc["s0", "label"] == y[0]  # the label the model saw, not bob's later one
    # the registered model has a signature (MLflow's own flavour, loadable by MLflow users)
    [mlmodel] = (tmp_path / "mlflow" / "mlartifacts").rglob("MLmodel")
    flavour = mlflow.models.Model.load(str(mlmodel.parent))
    assert flavour.signature is not None and flavour.signature.inputs.to_dict()
    assert flavour.flavors["sklearn"]["serialization_format"] == "skops"
    lineage = json.loads(mv.tags["labeler.meta"])["lineage"]
    assert lineage["rows"] == 60 and lineage["exact"] is True
    assert lineage["sha256"] == result.snapshot.manifest["sha256"]
    # artifacts live next to the tracking database, not in the working directory
    assert (tmp_path / "mlflow" / "mlartifacts").is_dir()


@pytest.mark.slow
def test_promotion_tampering_and_cli_list(trained, mlflow_uri, tmp_path, capsys):
    (tmp_path / "mlflow").mkdir()
    store, ids, X, y, _, _ = trained
    registry = open_registry(mlflow_uri)
    push_project_model(store, registry)
    record_trained_run(store, ids, X, np.roll(y, 1))  # a worse model
    worse = push_project_model(store, registry, holdout=Holdout(X, y))
    assert not worse.promotion.promoted
    assert registry.aliases("proj") == {"candidate": 2, "champion": 1}

    # tamper with Labeler's copy of version 1 in the artifact store: refused on load
    [model_file] = [
        p
        for p in (tmp_path / "mlflow" / "mlartifacts").rglob("labeler/model.skops")
        if registry.get("proj", 1).sha256
        in {__import__("hashlib").sha256(p.read_bytes()).hexdigest()}
    ]
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        registry.load("proj", "champion")

    assert main(["registry", "list", "--registry", mlflow_uri, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["aliases"]) for v in doc["versions"]] == [
        (1, ["champion"]),
        (2, ["candidate"]),
    ]
