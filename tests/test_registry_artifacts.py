"""A run's model file: recorded relative to the project with its SHA-256 taken at training;
push and loads check that hash, so a moved project pushes and a changed file is refused."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import skops.io as sio
import sqlalchemy as sa
from _review_data import labeled_project, record_trained_run
from sklearn.linear_model import LogisticRegression

from labeler.cli import main
from labeler.hashing import file_sha256
from labeler.learning.artifact import load_run_model, run_artifact
from labeler.registry import open_registry
from labeler.registry.push import push_project_model
from labeler.registry.trust import ModelIntegrityError
from labeler.store import Store
from labeler.store.database import current_revision, head_revision, make_engine, migrate, utcnow


def _trained(make_store):
    store = make_store(labels=("a", "b", "c"))
    ids, X, y = labeled_project(store, n=60)
    run, model = record_trained_run(store, ids, X, y)
    return store, X, y, run, model


def _move(store: Store, tmp_path, name: str) -> Store:
    """Close the project, copy its folder elsewhere, delete the original, open the copy."""
    folder = store.location.folder
    store.close()
    target = tmp_path / name
    shutil.copytree(folder, target)
    shutil.rmtree(folder)
    return Store.open(target)


def test_a_moved_project_folder_pushes_its_model_checked_against_the_recorded_hash(
    make_store, tmp_path
):
    store, X, _, run, model = _trained(make_store)
    assert run.artifact == f"models/v{run.model_version}.skops"
    assert run.artifact_sha256 == file_sha256(store.artifacts_dir / run.artifact)
    moved = _move(store, tmp_path, "moved")
    try:
        registry = open_registry(str(tmp_path / "reg"))
        v = push_project_model(moved, registry).version
        assert v.sha256 == run.artifact_sha256
        assert v.lineage["model_sha256"] == run.artifact_sha256
        assert v.lineage["model_sha256_recorded"] is True
        np.testing.assert_array_equal(
            registry.load(v.name, 1).predict_proba(X), model.predict_proba(X)
        )
        latest = moved.models.latest_ok()
        assert latest is not None
        np.testing.assert_array_equal(
            load_run_model(moved, latest).predict_proba(X), model.predict_proba(X)
        )
    finally:
        moved.close()


def test_a_replaced_model_file_is_refused_on_push_and_load_with_one_line(
    make_store, tmp_path, capsys
):
    """Another valid skops model in place of the trained one: its hash is its own, so only
    the hash recorded at training can tell (the push used to hash the file it pushed)."""
    store, X, y, run, _ = _trained(make_store)
    path = store.artifacts_dir / run.artifact
    sio.dump(LogisticRegression(max_iter=200).fit(X, np.roll(y, 1)), path)

    reg = tmp_path / "reg"
    code = main(["registry", "push", str(store.location.folder), "--registry", str(reg)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "v1.skops" in err and "does not match the recorded" in err
    assert open_registry(str(reg)).versions() == []  # nothing was pushed
    with pytest.raises(ModelIntegrityError, match="does not match the recorded"):
        load_run_model(store, run)


def test_runs_of_an_older_labeler_keep_working_after_the_folder_moved(make_store, tmp_path):
    """An older run: absolute artifact path, no hash. Found in the moved folder's models/,
    its hash taken from the file and marked as not recorded at training."""
    store, X, y, _, model = _trained(make_store)
    old_path = store.artifacts_dir / "models" / "v2.skops"
    sio.dump(model, old_path)
    store.models.record_run(
        status="ok",
        started_at=utcnow(),
        finished_at=utcnow(),
        label_count=60,
        strategy="margin",
        artifact=str(old_path),  # as older versions recorded it
    )
    moved = _move(store, tmp_path, "moved")
    try:
        run = moved.models.latest_ok()
        assert run is not None and run.artifact_sha256 is None
        found = run_artifact(moved, run)
        assert found.path == moved.artifacts_dir / "models" / "v2.skops"
        assert not found.recorded
        v = push_project_model(moved, open_registry(str(tmp_path / "reg"))).version
        assert v.lineage["model_sha256_recorded"] is False
        assert v.sha256 == file_sha256(found.path)
    finally:
        moved.close()


def test_migration_adds_the_hash_column_and_keeps_older_runs(tmp_path):
    folder = tmp_path / "old"
    (folder / ".labeler").mkdir(parents=True)
    db = folder / ".labeler" / "project.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine, db, target="0005", create=True)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO project (name, modality, task_type, settings, created_at) "
                "VALUES ('old','text','single-label','{}', '2025-01-01 00:00:00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO model_run (project_id, model_version, status, started_at, "
                "label_count, artifact) VALUES (1, 1, 'ok', '2025-01-01 00:00:00', 10, "
                "'/elsewhere/old/models/v1.skops')"
            )
        )
    engine.dispose()
    with Store.open(folder) as store:
        assert current_revision(store.engine) == head_revision()
        [run] = store.models.runs()
        assert run.artifact == "/elsewhere/old/models/v1.skops" and run.artifact_sha256 is None
