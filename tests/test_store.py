"""Project store on SQLite and PostgreSQL: creation, label events, undo/redo, derived labels."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
import sqlalchemy as sa

from labeler.errors import LabelError, ProjectError
from labeler.store import Provenance, Store
from labeler.store.database import current_revision, head_revision, make_engine, migrate


def _add_texts(store, texts, labels=None):
    rows = [(f"id{i}", f"hash-{t}", t, None, None, None) for i, t in enumerate(texts)]
    with store.samples.bulk_import("mem", "filehash") as batch:
        ids = batch.add_samples(rows)
        if labels:
            batch.add_labels(ids[: len(labels)], [[x] for x in labels])
    return ids


def test_create_and_reopen(make_store):
    store = make_store(modality="text", labels=("spam", "ham", "other"))
    info = store.info
    assert info.label_names == ["spam", "ham", "other"]
    assert [lab.shortcut for lab in info.labels] == ["1", "2", "3"]
    assert info.modality == "text" and info.task_type == "single-label"
    again = Store.open(store.location)
    try:
        assert again.info.label_names == ["spam", "ham", "other"]
        assert again.project_id == store.project_id
    finally:
        again.close()


def test_sqlite_pragmas(tmp_path):
    store = Store.create(tmp_path / "p", modality="text", labels=["a", "b"])
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 16384  # new file
    store.close()


def test_a_project_file_with_small_pages_keeps_them_and_opens(tmp_path):
    """Projects created before 16 KiB pages keep their page size (it cannot change in WAL
    mode without a rebuild) and work as before."""
    import sqlite3

    folder = tmp_path / "old"
    Store.create(folder, modality="text", labels=["a", "b"]).close()
    raw = sqlite3.connect(folder / ".labeler" / "project.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode=DELETE")
    raw.execute("PRAGMA page_size=4096")
    raw.execute("VACUUM")  # rebuilds the file with 4 KiB pages, as older versions made it
    raw.execute("PRAGMA journal_mode=WAL")
    raw.close()
    with Store.open(folder) as store:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        with store.samples.bulk_import("x.csv", "0" * 64) as batch:
            batch.add_samples([("s1", "h1", "hello", None, None, None)])
        assert store.samples.count() == 1
        assert store.info.label_names == ["a", "b"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"modality": "audio", "labels": ["a", "b"]}, "modality"),
        ({"modality": "text", "labels": ["a"]}, "at least two"),
        ({"modality": "text", "labels": ["a", "a"]}, "repeat"),
        ({"modality": "text", "labels": ["a", "b", "c"], "task_type": "binary"}, "exactly 2"),
        ({"modality": "text", "labels": ["a", ""]}, "empty"),
    ],
)
def test_create_rejects_bad_settings(tmp_path, kwargs, message):
    with pytest.raises(ProjectError, match=message):
        Store.create(tmp_path / "p", **kwargs)
    assert not (tmp_path / "p" / ".labeler" / "project.db").exists()


def test_create_twice_is_refused(make_store):
    store = make_store()
    with pytest.raises(ProjectError, match="already exists"):
        Store.create(
            store.location.folder,
            modality="text",
            labels=["a", "b"],
            database_url=None if store.location.is_sqlite else store.location.url,
        )


def test_open_missing(tmp_path):
    with pytest.raises(ProjectError, match="no such project"):
        Store.open(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProjectError, match="not a Labeler project"):
        Store.open(tmp_path / "empty")


def test_label_events_and_derived_state(make_store):
    store = make_store(labels=("pos", "neg"))
    a, b, c = _add_texts(store, ["x", "y", "z"])
    prov = Provenance(model_version=3, strategy="margin", score=0.12)
    e1 = store.labels.add(a, ["pos"], "alice", time_spent_ms=1500, provenance=prov, session="s1")
    store.labels.add(b, ["neg"], "alice")
    store.labels.skip(c, "alice")
    ev = store.labels.events(sample_id=a)[0]
    assert ev.id == e1 and ev.labels == ("pos",) and ev.time_spent_ms == 1500
    assert (ev.model_version, ev.strategy, ev.score) == (3, "margin", pytest.approx(0.12))
    assert store.labels.state(c).status == "skipped"
    cur = store.labels.current()
    assert dict(zip(cur.sample_id, cur.labels, strict=True)) == {a: ("pos",), b: ("neg",)}
    assert store.labels.unlabeled_ids() == [c]

    # relabel: latest wins, the old event stays in the log
    store.labels.add(a, ["neg"], "alice")
    assert store.labels.state(a).labels == ("neg",)
    assert [e.labels for e in store.labels.events(sample_id=a)] == [("pos",), ("neg",)]


def test_undo_redo_across_items(make_store):
    store = make_store()
    a, b = _add_texts(store, ["x", "y"])
    store.labels.add(a, ["pos"], "alice")
    store.labels.add(b, ["neg"], "alice")
    store.labels.add(a, ["pos"], "bob")  # another annotator's work is not touched by alice's undo

    r1 = store.labels.undo("alice")
    assert r1.target.sample_id == b
    r2 = store.labels.undo("alice")
    assert r2.target.sample_id == a
    assert store.labels.state(b).status == "unlabeled"
    assert store.labels.state(a).labels == ("pos",)  # bob's label remains
    assert store.labels.state(a).n_annotators == 1

    assert store.labels.redo("alice").target.sample_id == a
    assert store.labels.redo("alice").target.sample_id == b
    assert store.labels.redo("alice") is None
    assert store.labels.state(b).labels == ("neg",)

    # after new work, redo has nothing to redo
    store.labels.undo("alice")
    store.labels.skip(b, "alice")
    assert store.labels.redo("alice") is None
    actions = [e.action for e in store.labels.events(annotator="alice")]
    assert actions == ["label", "label", "undo", "undo", "redo", "redo", "undo", "skip"]


def test_a_retried_undo_or_redo_is_not_done_twice(make_store):
    """``retry_after``: the session's last confirmed event before an undo (redo) whose answer
    was lost. A retry finds that attempt's committed event instead of reverting another."""
    store = make_store()
    a, b = _add_texts(store, ["x", "y"])
    store.labels.add(a, ["pos"], "alice", session="s")
    eb = store.labels.add(b, ["neg"], "alice", session="s")
    lost = store.labels.undo("alice", session="s")  # committed; say its answer was lost
    again = store.labels.undo("alice", session="s", retry_after=eb)
    assert again == lost and again.target.sample_id == b
    assert store.labels.state(a).labels == ("pos",)  # a is not undone as well
    # the attempt had not been committed: the retry undoes (b's label went, a's now)
    fresh = store.labels.undo("alice", session="s", retry_after=lost.event_id)
    assert fresh.target.sample_id == a and store.labels.state(a).status == "unlabeled"
    redone = store.labels.redo("alice", session="s")
    assert store.labels.redo("alice", session="s", retry_after=fresh.event_id) == redone
    assert redone.target.sample_id == a and store.labels.state(b).status == "unlabeled"
    # another session's events do not count as this session's attempt
    store.labels.add(b, ["neg"], "alice", session="other")
    other = store.labels.undo("alice", session="s", retry_after=redone.event_id)
    assert other.target.sample_id == b
    actions = [e.action for e in store.labels.events(annotator="alice")]
    assert actions == ["label", "label", "undo", "undo", "redo", "label", "undo"]


def test_nothing_to_undo(make_store):
    store = make_store()
    assert store.labels.undo("nobody") is None


def test_disagreement_and_adjudication(make_store):
    store = make_store(labels=("cat", "dog"))
    (a,) = _add_texts(store, ["x"])
    store.labels.add(a, ["cat"], "alice")
    store.labels.add(a, ["dog"], "bob")
    st = store.labels.state(a)
    assert st.disagreement and st.n_annotators == 2 and st.labels == ("dog",)
    store.labels.adjudicate(a, ["cat"], "lead", comment="whiskers")
    st = store.labels.state(a)
    assert st.adjudicated and st.labels == ("cat",)
    store.labels.add(a, ["dog"], "carol")  # a later label does not override an adjudication
    assert store.labels.state(a).labels == ("cat",)
    by_ann = store.labels.by_annotator()
    assert sorted(zip(by_ann.annotator, by_ann.labels, strict=True)) == [
        ("alice", ("cat",)),
        ("bob", ("dog",)),
        ("carol", ("dog",)),
    ]


def test_flag_and_summary(make_store):
    store = make_store(labels=("pos", "neg"))
    a, b, c = _add_texts(store, ["x", "y", "z"], labels=["pos"])
    store.labels.add(b, ["neg"], "alice")
    store.labels.flag(c, "alice", "garbled text")
    s = store.summary()
    assert s["samples"] == 3 and s["labeled"] == 2 and s["flagged"] == 1
    assert s["per_class"] == {"pos": 1, "neg": 1}
    assert s["per_annotator"] == {"alice": 1, "import": 1}
    assert s["import_batches"][0]["rows"] == 3
    assert store.labels.events(sample_id=c)[0].comment == "garbled text"


def test_rejects_bad_labels(make_store):
    store = make_store(labels=("pos", "neg"))
    (a,) = _add_texts(store, ["x"])
    before = store.dump()
    with pytest.raises(LabelError, match="unknown label 'maybe'"):
        store.labels.add(a, ["maybe"], "alice")
    with pytest.raises(LabelError, match="exactly one label"):
        store.labels.add(a, ["pos", "neg"], "alice")
    with pytest.raises(LabelError, match="not in project"):
        store.labels.add(999_999, ["pos"], "alice")
    assert store.dump() == before


def test_multi_label(make_store):
    store = make_store(labels=("red", "green", "blue"), task_type="multi-label")
    (a,) = _add_texts(store, ["x"])
    store.labels.add(a, ["red", "blue"], "alice")
    assert store.labels.state(a).labels == ("red", "blue")
    store.labels.add(a, [], "alice")  # "none of these" is a valid multi-label answer
    assert store.labels.state(a).labels == ()
    assert store.labels.state(a).status == "labeled"


def test_rebuild_states_matches_incremental(make_store):
    store = make_store()
    ids = _add_texts(store, [f"t{i}" for i in range(6)], labels=["pos", "neg"])
    store.labels.add(ids[2], ["pos"], "a")
    store.labels.add(ids[3], ["neg"], "b")
    store.labels.undo("b")
    store.labels.flag(ids[4], "a", "hm")
    before = {k: [r[:-1] for r in v] for k, v in store.dump().items() if k == "sample_state"}
    store.labels.rebuild_states()
    after = {k: [r[:-1] for r in v] for k, v in store.dump().items() if k == "sample_state"}
    assert before == after


def test_runs_queue_and_predictions(make_store):
    from labeler.store.database import utcnow
    from labeler.store.models import Prediction

    store = make_store()
    a, b, c = _add_texts(store, ["x", "y", "z"])
    failed = store.models.record_run(
        status="failed", started_at=utcnow(), finished_at=utcnow(), label_count=1, error="one class"
    )
    assert failed.model_version is None
    run = store.models.record_run(
        status="ok",
        started_at=utcnow(),
        finished_at=utcnow(),
        label_count=2,
        strategy="margin",
        metrics={"accuracy": 0.5},
        queue=[(c, 0.9), (a, 0.5), (b, 0.1)],
        predictions=[Prediction(a, 0, ("pos",), 0.7, {"pos": 0.7, "neg": 0.3}, False)],
    )
    assert run.model_version == 1 and run.metrics == {"accuracy": 0.5}
    assert [q.sample_id for q in store.models.queue()] == [c, a, b]
    store.labels.add(c, ["pos"], "alice")
    assert [q.sample_id for q in store.models.queue()] == [a, b]
    assert store.models.predictions([a])[a].model_version == 1
    assert store.models.latest_ok().id == run.id
    assert store.models.next_version() == 2


def test_projects_share_a_database(backend, pg_server_url, tmp_path):
    if backend != "postgres":
        pytest.skip("several projects per database is a PostgreSQL (team mode) feature")
    s1 = Store.create(
        tmp_path / "one", modality="text", labels=["a", "b"], database_url=pg_server_url
    )
    s2 = Store.create(
        tmp_path / "two", modality="text", labels=["x", "y"], database_url=pg_server_url
    )
    _add_texts(s1, ["same"])
    _add_texts(s2, ["same"])  # same content in another project is not a duplicate
    assert s1.samples.count() == 1 and s2.samples.count() == 1
    # the folder's pointer file names the database, so the folder opens the team project
    again = Store.open(tmp_path / "two")
    assert again.info.label_names == ["x", "y"]
    for s in (s1, s2, again):
        s.close()


def test_migration_from_older_schema_keeps_data_and_backs_up(tmp_path):
    """An old project (schema 0001, database at the top of the folder as earlier versions
    kept it) opens: the database moves into .labeler/ and is migrated after a backup."""
    folder = tmp_path / "old"
    folder.mkdir()
    db = folder / "project.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine, db, target="0001", create=True)
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO project (name, modality, task_type, settings, created_at) VALUES ('old','text','single-label','{}', '2025-01-01 00:00:00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO label_def (project_id, position, name, shortcut) VALUES (1,0,'a','1'),(1,1,'b','2')"
            )
        )
    engine.dispose()

    store = Store.open(folder)
    assert current_revision(store.engine) == head_revision()
    assert store.info.label_names == ["a", "b"]
    backups = list((folder / ".labeler").glob("project.db.bak-0001-*"))
    assert len(backups) == 1
    assert (folder / ".labeler" / "project.db").is_file()
    assert sorted(p.name for p in folder.iterdir()) == [".labeler"]
    with sqlite3.connect(backups[0]) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    assert store.models.runs() == []  # table from migration 0002 exists
    store.close()


def test_concurrent_labels_on_one_sample(make_store):
    """Several clients labeling the same sample at once: every event is kept and the derived
    state matches a rebuild from the events (the sample row is locked per event)."""
    import threading

    store = make_store(labels=("pos", "neg"))
    (a,) = _add_texts(store, ["x"])
    clients = [Store.open(store.location) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(clients))

    def work(i: int) -> None:
        barrier.wait()
        try:
            for k in range(15):
                clients[i].labels.add(a, ["pos" if (i + k) % 2 else "neg"], f"annot{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clients))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for c in clients:
        c.close()
    assert errors == []
    assert len(store.labels.events(sample_id=a)) == 60
    incremental = store.labels.state(a)
    assert incremental.n_annotators == 4
    before = [r[:-1] for r in store.dump()["sample_state"]]
    store.labels.rebuild_states()
    assert [r[:-1] for r in store.dump()["sample_state"]] == before


def test_flag_does_not_undo_a_skip(make_store):
    store = make_store()
    (a,) = _add_texts(store, ["x"])
    store.labels.skip(a, "alice")
    store.labels.flag(a, "alice", "odd")
    state = store.labels.state(a)
    assert state.status == "skipped" and state.flagged


def test_per_annotator_counts_only_active_labels(make_store):
    store = make_store()
    a, b = _add_texts(store, ["x", "y"])
    store.labels.add(a, ["pos"], "ann")
    store.labels.add(b, ["pos"], "ann")
    store.labels.undo("ann")
    summary = store.summary()
    assert summary["labeled"] == 1 and summary["per_annotator"] == {"ann": 1}


def test_renamed_project_folder_still_opens(tmp_path):
    import shutil

    store = Store.create(tmp_path / "original", modality="text", labels=["a", "b"])
    store.close()
    shutil.copytree(tmp_path / "original", tmp_path / "copy")
    again = Store.open(tmp_path / "copy")
    assert again.info.name == "original"
    again.close()


def test_foreign_database_is_refused_untouched(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    with sqlite3.connect(folder / "project.db") as conn:
        conn.execute("CREATE TABLE notes (x)")
    with pytest.raises(ProjectError, match="not a Labeler database"):
        Store.open(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["project.db"]  # not moved either
    with sqlite3.connect(folder / "project.db") as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]


def test_empty_postgres_database_is_not_given_a_schema(pg_server_url):
    import uuid

    base = sa.engine.make_url(pg_server_url)
    name = f"labeler_empty_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        with pytest.raises(ProjectError, match="not a Labeler database"):
            Store.open(f"{url}#typo")
        probe = sa.create_engine(url)
        with probe.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
        probe.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_project_from_a_newer_version_is_refused_without_backup(tmp_path):
    store = Store.create(tmp_path / "p", modality="text", labels=["a", "b"])
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    store.close()
    for _ in range(2):
        with pytest.raises(ProjectError, match="newer Labeler"):
            Store.open(tmp_path / "p")
    assert list((tmp_path / "p" / ".labeler").glob("project.db.bak-*")) == []


def test_sample_ids_from_one_range_or_row_by_row(make_store, backend):
    """``id_array`` builds an unbroken range from aggregates and reads the rows otherwise;
    on PostgreSQL two projects importing in turn share the id sequence, so the ids of each
    have gaps."""
    a, b = make_store(), make_store()
    first = _add_texts(a, ["x0", "x1"])
    _add_texts(b, ["y0"])
    with a.samples.bulk_import("more", "filehash-2") as batch:
        second = batch.add_samples([("later", "hash-x2", "x2", None, None, None)])
    ids = a.samples.id_array()
    assert ids.dtype == np.int64
    assert ids.tolist() == sorted([*first, *second]) == a.samples.ids()
    assert a.samples.first_id() == ids[0]
    if backend == "postgres":
        assert ids[-1] - ids[0] + 1 > len(ids)  # the row-by-row read ran
    empty = make_store()
    assert empty.samples.id_array().size == 0 and empty.samples.first_id() is None
