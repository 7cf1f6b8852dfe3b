"""Experiment tracking of every retrain against a real MLflow tracking store (SQLite under
tmp_path): one MLflow run per retrain from ``labeler train`` and from the background worker
process, its parameters, metrics and tags, the run id kept with the run, and a tracking URI
that fails (a warning; the retrain succeeds)."""

from __future__ import annotations

import json
import threading

import mlflow
import pytest

from labeler.cli import main
from labeler.learning.jobs import RetrainScheduler, TrainSettings
from labeler.learning.tracking import experiment_name
from labeler.store import Store
from tests.learning_data import add_tabular, blobs, label

WAIT = 120.0


@pytest.fixture
def tracking(tmp_path) -> tuple[str, str]:
    """``(setting, uri)`` of a fresh SQLite tracking store."""
    (tmp_path / "mlflow").mkdir()
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    return f"mlflow:{uri}", uri


def _runs(uri: str, project: str) -> list:
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment_name(project))
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])


def _project(make_store, labeled: int = 45, n: int = 90) -> Store:
    X, y = blobs(n=n, n_classes=3, n_features=4, seed=3)
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    add_tabular(store, X, [(y[i],) if i < labeled else None for i in range(n)])
    return store


@pytest.mark.slow
def test_cli_train_logs_one_run_per_retrain_with_params_metrics_and_tags(
    make_store, tracking, capsys
) -> None:
    setting, uri = tracking
    store = _project(make_store)
    project = str(store.location.folder)  # (a PostgreSQL project's folder points to it)
    assert main(["train", project, "--tracking", setting, "--json", "--queue-size", "20"]) == 0
    doc = json.loads(capsys.readouterr().out)
    [run] = _runs(uri, store.info.name)
    assert doc["mlflow_run_id"] == run.info.run_id
    assert store.models.run(doc["run_id"]).mlflow_run_id == run.info.run_id
    assert run.info.status == "FINISHED" and run.info.run_name == "v1"

    p, m, tags = run.data.params, run.data.metrics, run.data.tags
    assert p["model"] == doc["params"]["model"] and p["strategy"] == "margin"
    assert p["queue_size"] == "20" and p["feature_kind"] == "tabular"
    assert {k for k in p if k.startswith("chosen.")} == {
        f"chosen.{k}" for k in doc["params"]["chosen"]
    }
    assert sum(int(p[f"labels.c{k}"]) for k in range(3)) == 45 == int(p["label_count"])
    assert m["accuracy"] == pytest.approx(doc["metrics"]["accuracy"])
    assert m["macro_f1"] == pytest.approx(doc["metrics"]["macro_f1"])
    assert m["brier"] == pytest.approx(doc["metrics"]["brier"])
    for k in range(3):
        assert m[f"f1.c{k}"] == pytest.approx(doc["metrics"]["per_class"][f"c{k}"]["f1"])
    assert m["duration.total"] == pytest.approx(doc["durations"]["total"])
    cut = doc["params"]["training_labels"]
    assert tags["labeler.label_cut"] == str(cut["as_of_event"])
    assert tags["labeler.label_set_sha256"] == cut["sha256"]
    assert tags["labeler.artifact_sha256"] == doc["artifact_sha256"]
    assert tags["labeler.model_version"] == "1"

    # the project's own setting: every retrain is tracked, one run each
    store.update_settings(learning={**store.info.settings.get("learning", {}), "tracking": setting})
    assert main(["train", project]) == 0
    assert "tracked as MLflow run" in capsys.readouterr().out
    assert main(["train", project, "--strategy", "entropy"]) == 0
    runs = _runs(uri, store.info.name)
    assert [r.info.run_name for r in runs] == ["v1", "v2", "v3"]
    assert runs[-1].data.params["strategy"] == "entropy"
    assert [r.mlflow_run_id for r in store.models.runs()] == [r.info.run_id for r in runs]
    # and '' on the command line turns it off for one run
    assert main(["train", project, "--tracking", ""]) == 0
    assert len(_runs(uri, store.info.name)) == 3
    assert store.models.runs()[-1].mlflow_run_id is None


@pytest.mark.slow
def test_a_failing_tracking_uri_warns_once_and_the_retrain_succeeds(tmp_path, capsys) -> None:
    proj = tmp_path / "proj"
    X, y = blobs(n=60, n_classes=3, n_features=4, seed=1)
    with Store.create(proj, modality="tabular", labels=["c0", "c1", "c2"]) as store:
        add_tabular(store, X, [(v,) for v in y])
    (tmp_path / "a-file").write_text("not a folder")
    broken = f"mlflow:sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}"  # cannot be created
    assert main(["train", str(proj), "--tracking", broken, "--json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["status"] == "ok" and doc["model_version"] == 1
    assert doc["mlflow_run_id"] is None
    lines = err.strip().splitlines()
    warnings = [line for line in lines if line.startswith("warning:")]
    assert len(warnings) == 1 and "MLflow tracking of run" in warnings[0], err
    assert "Traceback" not in err
    with Store.open(proj) as store:
        assert store.models.latest_ok().model_version == 1


def test_a_malformed_tracking_setting_is_refused_before_training(tmp_path, capsys) -> None:
    proj = tmp_path / "proj"
    X, y = blobs(n=30, n_classes=3, n_features=4, seed=1)
    with Store.create(proj, modality="tabular", labels=["c0", "c1", "c2"]) as store:
        add_tabular(store, X, [(v,) for v in y])
    assert main(["train", str(proj), "--tracking", "sqlite:///x.db"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mlflow:<tracking uri>" in err[0]
    with Store.open(proj) as store:
        assert store.models.runs() == []  # nothing recorded


@pytest.mark.slow
def test_the_background_worker_tracks_each_retrain_after_delivering_it(
    make_store, tracking
) -> None:
    """The app's path: the scheduler's worker process (settings read from the project)."""
    setting, uri = tracking
    store = _project(make_store, labeled=30)
    learning = {**store.info.settings.get("learning", {}), "tracking": setting}
    store.update_settings(learning={**learning, "queue_size": 10, "cv_folds": 2})
    order: list[str] = []
    results, afters = [], []
    done = threading.Event()

    def on_result(result) -> None:
        order.append("result")
        results.append(result)

    def on_after(after) -> None:
        order.append("after")
        afters.append(after)
        done.set()

    with RetrainScheduler(store.location, None, on_result=on_result, on_after=on_after) as sched:
        sched.request()
        assert done.wait(WAIT)
        done.clear()
        label(store, [int(i) for i in store.labels.unlabeled_ids()[:6]], ["c0"] * 6)
        sched.request()
        assert done.wait(WAIT)
        assert sched.wait_idle(WAIT)
    assert order == ["result", "after", "result", "after"]
    assert all(r.ok for r in results) and [a.warnings for a in afters] == [[], []]
    runs = _runs(uri, store.info.name)
    assert [r.info.run_id for r in runs] == [a.mlflow_run_id for a in afters]
    assert [int(r.data.tags["labeler.run_id"]) for r in runs] == [r.run.id for r in results]
    assert [r.mlflow_run_id for r in store.models.runs()] == [r.info.run_id for r in runs]
    assert runs[1].data.params["label_count"] == "36"


@pytest.mark.slow
def test_a_failed_retrain_is_tracked_as_failed(make_store, tracking) -> None:
    setting, uri = tracking
    X, _ = blobs(n=40, n_classes=3, n_features=4, seed=2)
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    add_tabular(store, X, [("c0",)] * 10 + [None] * 30)  # one class: cannot train
    afters = []
    sched = RetrainScheduler(
        store.location,
        TrainSettings(tracking=setting),
        on_result=lambda r: None,
        on_after=afters.append,
        synchronous=True,
    )
    sched.request()
    [after] = afters
    [run] = _runs(uri, store.info.name)
    assert run.info.status == "FAILED" and after.mlflow_run_id == run.info.run_id
    assert "labeler.error" in run.data.tags and run.data.params["labels.c0"] == "10"
