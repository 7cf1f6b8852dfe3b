"""The MLflow back end against a real local tracking store (SQLite) under tmp_path."""

from __future__ import annotations

import json
import os
from pathlib import Path

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


@pytest.mark.slow
def test_names_with_quotes_push_list_alias_and_load(mlflow_uri, tmp_path, capsys):
    """MLflow's filter language has no escape character: names holding ' or both quotes."""
    from labeler.store import Store

    (tmp_path / "mlflow").mkdir()
    registry = open_registry(mlflow_uri)
    names = ["o'brien", 'say "hi" it\'s']
    for name in names:
        with Store.create(tmp_path / name, modality="text", labels=["a", "b", "c"]) as store:
            ids, X, y = labeled_project(store, n=60)
            _, model = record_trained_run(store, ids, X, y)
            assert push_project_model(store, registry).version.version == 1
            record_trained_run(store, ids, X, y, C=0.5)  # another model file
            assert push_project_model(store, registry, force=True).version.version == 2
        assert [v.version for v in registry.versions(name)] == [1, 2]
        assert registry.aliases(name) == {"candidate": 2, "champion": 2}
        registry.set_alias(name, "champion", 1)
        assert registry.get(name, "champion").version == 1
        loaded = registry.load(name, "champion")
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert main(["registry", "list", "--registry", mlflow_uri, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted((v["name"], v["version"]) for v in doc["versions"]) == sorted(
        (n, k) for n in names for k in (1, 2)
    )


@pytest.mark.slow
def test_a_failed_push_leaves_nothing_and_no_global_mlflow_state(
    trained, mlflow_uri, tmp_path, monkeypatch
):
    import mlflow
    from mlflow import MlflowClient
    from mlflow.tracking._tracking_service.utils import is_tracking_uri_set

    from labeler.export import ExportResult

    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(var, raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    (tmp_path / "mlflow").mkdir()
    store, ids, X, y, _, _ = trained
    record_trained_run(store, ids, X, y, C=0.5, cut=False)  # no cut: any snapshot is taken
    registry = open_registry(mlflow_uri)
    # a snapshot file that is not Parquet: the push fails after the model was uploaded
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    fake = ExportResult(bad, tmp_path / "bad.parquet.manifest.json", {"sha256": "0" * 64})
    with pytest.raises(Exception, match="(?i)parquet"):
        push_project_model(store, registry, snapshot=fake)

    tracking = mlflow_uri[len("mlflow:") :]
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    assert client.search_registered_models() == []
    assert list(client.search_model_versions()) == []
    experiment = client.get_experiment_by_name("labeler-proj")
    assert client.search_runs([experiment.experiment_id]) == []  # the run was deleted

    v = push_project_model(store, registry).version
    assert (v.version, v.aliases) == (1, ["candidate", "champion"])
    # no process-global MLflow state was set or left behind, nothing written in the cwd
    assert not is_tracking_uri_set()
    assert mlflow.active_run() is None
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    assert list(cwd.iterdir()) == []


@pytest.mark.slow
def test_the_training_snapshot_is_an_artifact_of_the_version(trained, mlflow_uri, tmp_path):
    from mlflow import MlflowClient

    from labeler.export import verify_snapshot

    (tmp_path / "mlflow").mkdir()
    store, *_ = trained
    registry = open_registry(mlflow_uri)
    result = push_project_model(store, registry)
    v = result.version
    rel = v.lineage["dataset_path"]
    assert rel == f"labeler/dataset/{result.snapshot.path.name}"
    tracking = mlflow_uri[len("mlflow:") :]
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    run_id = client.get_model_version("proj", "1").run_id
    local = client.download_artifacts(run_id, "labeler/dataset", str(tmp_path / "dl"))
    copy = Path(local) / result.snapshot.path.name
    assert verify_snapshot(copy) == result.snapshot.manifest
