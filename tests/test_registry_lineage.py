"""Exact training-set lineage: a run records the label cut it trained on, and the registry's
dataset snapshot holds exactly those labels, however many labels arrived since."""

from __future__ import annotations

import hashlib
import threading

import pandas as pd
import pytest
import sqlalchemy as sa
from _review_data import labeled_project, record_trained_run

from labeler.errors import LabelError
from labeler.export import export_dataset
from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from labeler.registry import RegistryError, open_registry
from labeler.registry.push import push_project_model
from labeler.store import Store
from labeler.store import schema as t
from labeler.store.database import utcnow
from labeler.store.ids import reserve_ids
from labeler.store.label_cut import (
    hold_label_writes,
    label_set_sha256,
    label_watermark,
    labels_after,
    labels_as_of,
)
from tests.learning_data import add_tabular, blobs


def _frame_pairs(frame: pd.DataFrame) -> dict[int, tuple[str, ...]]:
    return {int(s): tuple(lab) for s, lab in zip(frame["sample_id"], frame["labels"], strict=True)}


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_labels_as_of_a_cut_ignore_everything_after_it(make_store):
    store = make_store(labels=("a", "b", "c"))
    ids, _, _ = labeled_project(store, n=12)
    store.labels.add(ids[0], ["b"], "bob")
    store.labels.adjudicate(ids[1], ["c"], "lead")
    before = _frame_pairs(store.labels.current())
    cut = label_watermark(store)
    # after the cut: relabels, undo of a label that was in the cut, an adjudication, a skip
    store.labels.add(ids[2], ["c"], "bob")
    store.labels.undo("bob")  # undoes bob's relabel of ids[2]
    store.labels.undo("bob")  # undoes bob's relabel of ids[0] (from before the cut)
    store.labels.adjudicate(ids[3], ["a"], "lead")
    store.labels.undo("lead")  # undoes the adjudication of ids[3]
    store.labels.undo("lead")  # undoes the adjudication of ids[1] (from before the cut)
    store.labels.add(ids[4], ["a"], "carol")
    store.labels.undo("alice")  # alice's newest label (ids[11]) is gone now
    assert _frame_pairs(store.labels.current()) != before

    assert _frame_pairs(labels_as_of(store, cut)) == before
    # unseen by a model trained on the cut: only carol's label decides a sample now
    assert labels_after(store, cut) == ([ids[4]], [("a",)])
    assert _frame_pairs(labels_as_of(store, label_watermark(store))) == _frame_pairs(
        store.labels.current()
    )


def _tabular(make_store, n=150, labeled=45):
    X, y = blobs(n=n, n_classes=3, n_features=4, seed=1)
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    ids = add_tabular(store, X)
    for sid, lab in zip(ids[:labeled], y[:labeled], strict=True):
        store.labels.add(sid, [str(lab)], "alice")
    return store, ids, y


def test_push_snapshots_exactly_the_labels_the_model_saw(make_store, tmp_path):
    store, ids, y = _tabular(make_store)
    trained_on = _frame_pairs(store.labels.current())
    external = {sid: store.samples.get(sid).external_id for sid in ids}
    run = train_once(store.location, TrainSettings(strategy="margin", queue_size=10, cv_folds=3))
    assert run.status == "ok", run.error
    cut = run.params["training_labels"]
    assert cut["count"] == 45 and cut["label_policy"] == "latest"
    assert cut["sha256"] == label_set_sha256(sorted(trained_on.items()))

    # labels keep arriving after the retrain: new ones, a relabel, an undo
    for sid, lab in zip(ids[45:70], y[45:70], strict=True):
        store.labels.add(sid, [str(lab)], "bob")
    store.labels.add(ids[0], ["c2" if y[0] != "c2" else "c1"], "bob")
    store.labels.undo("alice")  # ids[44] loses its label now, but the model saw it

    result = push_project_model(store, open_registry(str(tmp_path / "reg")))
    snap = pd.read_parquet(result.snapshot.path)
    got = dict(zip(snap["id"].astype(str), snap["label"], strict=True))
    assert got == {external[sid]: labels[0] for sid, labels in trained_on.items()}

    lineage = result.version.lineage
    assert lineage["exact"] is True
    assert lineage["as_of_event"] == cut["as_of_event"]
    assert lineage["label_set_sha256"] == cut["sha256"]
    assert lineage["sha256"] == _sha(result.snapshot.path)  # the content hash, in the registry
    assert lineage["rows"] == 45 and lineage["training_labels"] == cut
    card = open_registry(str(tmp_path / "reg")).model_card(result.version.name, 1)
    assert f"as of label event {cut['as_of_event']}" in card

    # re-exporting as of that run gives the same content (same file hash), the current
    # labels do not
    again = export_dataset(store, "parquet", tmp_path / "again.parquet", as_of=cut["as_of_event"])
    assert again.manifest["sha256"] == lineage["sha256"]
    assert again.manifest["label_set_sha256"] == cut["sha256"]
    now = export_dataset(store, "parquet", tmp_path / "now.parquet")
    assert now.manifest["rows"] == 69 and now.manifest["sha256"] != lineage["sha256"]


def test_a_snapshot_of_other_labels_is_refused(make_store, tmp_path):
    store = make_store(labels=("a", "b", "c"))
    ids, X, y = labeled_project(store, n=60)
    record_trained_run(store, ids, X, y)
    store.labels.add(ids[0], ["b" if y[0] != "b" else "c"], "bob")
    current = export_dataset(store, "parquet", tmp_path / "current.parquet")
    with pytest.raises(RegistryError, match="other labels than model version 1"):
        push_project_model(store, open_registry(str(tmp_path / "reg")), snapshot=current)


def test_a_run_without_a_recorded_cut_is_pushed_as_not_exact(make_store, tmp_path):
    store = make_store(labels=("a", "b", "c"))
    ids, X, y = labeled_project(store, n=60)
    record_trained_run(store, ids, X, y, cut=False)  # as an older Labeler recorded runs
    result = push_project_model(store, open_registry(str(tmp_path / "reg")))
    assert result.version.lineage["exact"] is False
    assert result.version.lineage["training_labels"] is None
    assert result.version.lineage["rows"] == 60


def test_the_cut_waits_out_uncommitted_label_events_on_postgresql(make_store, backend):
    """An event inserted (not yet committed) before a later committed one must not fall
    inside a cut that the training read without it."""
    if backend != "postgres":
        pytest.skip("SQLite commits one writer at a time, in id order: nothing to wait for")
    store = make_store(labels=("a", "b"))
    ids, _, _ = labeled_project(store, n=4)
    other = Store.open(store.location)
    inserted = threading.Event()
    release = threading.Event()

    def slow_writer() -> None:
        with other.write() as conn:
            hold_label_writes(conn, store.project_id)  # as every label event writer does
            conn.execute(
                t.label_event.insert().values(
                    project_id=store.project_id,
                    sample_id=ids[0],
                    annotator="slow",
                    action="label",
                    labels='["b"]',
                    created_at=utcnow(),
                )
            )
            inserted.set()
            release.wait(30)

    th = threading.Thread(target=slow_writer)
    th.start()
    try:
        assert inserted.wait(30)
        store.labels.add(ids[1], ["b"], "fast")  # a larger id, committed first
        with pytest.raises(LabelError, match="being written"):
            label_watermark(store, wait_s=0.3)
    finally:
        release.set()
        th.join()
        other.close()
    with store.read() as conn:
        top = conn.execute(
            sa.select(sa.func.max(t.label_event.c.id)).where(
                t.label_event.c.project_id == store.project_id
            )
        ).scalar_one()
    assert label_watermark(store) == top


def _top_event(store: Store) -> int:
    with store.read() as conn:
        return conn.execute(
            sa.select(sa.func.max(t.label_event.c.id)).where(
                t.label_event.c.project_id == store.project_id
            )
        ).scalar_one()


def test_the_cut_ignores_writes_of_other_projects_and_analyze(make_store, backend):
    """An import running in another project of the same database, or an ANALYZE of the event
    table, must not make this project's retrain fail."""
    if backend != "postgres":
        pytest.skip("PostgreSQL only: SQLite keeps one project per file")
    store = make_store(labels=("a", "b"))
    ids, _, _ = labeled_project(store, n=4)
    busy = make_store(labels=("a", "b"))
    busy_ids, _, _ = labeled_project(busy, n=2)
    with busy.samples.bulk_import("big.csv", "1" * 64) as batch:  # open, not committed
        new = batch.add_samples([("x1", "f" * 64, "more", None, None, None)])
        batch.add_labels(new, [["a"]])
        assert label_watermark(store, wait_s=0.3) == _top_event(store)
    with busy.engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("ANALYZE label_event")  # holds its lock until this commits
        assert label_watermark(store, wait_s=0.3) == _top_event(store)


def test_the_cut_waits_for_reserved_but_not_yet_inserted_event_ids(make_store, backend):
    """An import reserves its event ids before inserting them: a cut taken in between must
    not land above those ids (the snapshot hash would never match again)."""
    if backend != "postgres":
        pytest.skip("SQLite commits one writer at a time, in id order: nothing to wait for")
    store = make_store(labels=("a", "b"))
    ids, _, _ = labeled_project(store, n=4)
    importer = Store.open(store.location)
    try:
        with importer.engine.connect() as conn:
            with conn.begin():  # what ImportBatch.add_labels does, stopped before the insert
                hold_label_writes(conn, store.project_id)
                reserved = list(reserve_ids(conn, t.label_event, 2))
                store.labels.add(ids[1], ["b"], "fast")  # a larger id, committed first
                assert _top_event(store) > max(reserved)
                with pytest.raises(LabelError, match="being written"):
                    label_watermark(store, wait_s=0.3)
                conn.execute(
                    t.label_event.insert(),
                    [
                        {
                            "id": eid,
                            "project_id": store.project_id,
                            "sample_id": sid,
                            "annotator": "import",
                            "action": "label",
                            "labels": '["a"]',
                            "created_at": utcnow(),
                        }
                        for eid, sid in zip(reserved, ids[2:], strict=True)
                    ],
                )
                with pytest.raises(LabelError, match="being written"):
                    label_watermark(store, wait_s=0.3)
            # committed: the lock is gone and the cut covers the imported events
            assert label_watermark(store, wait_s=0.3) == _top_event(store)
    finally:
        importer.close()


def test_an_open_import_of_the_project_holds_the_cut_back(make_store, backend):
    if backend != "postgres":
        pytest.skip("SQLite's single writer lock already orders the events")
    store = make_store(labels=("a", "b"))
    labeled_project(store, n=4)
    importer = Store.open(store.location)
    try:
        with importer.samples.bulk_import("more.csv", "2" * 64) as batch:
            new = batch.add_samples([("y1", "e" * 64, "more", None, None, None)])
            batch.add_labels(new, [["b"]])
            with pytest.raises(LabelError, match="being written"):
                label_watermark(store, wait_s=0.3)
        assert label_watermark(store, wait_s=0.3) == _top_event(store)
    finally:
        importer.close()
