"""Export snapshot versions are unique per project, also when exports run concurrently
(threads and processes, on SQLite and PostgreSQL), and the unique constraint backs it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from _review_data import labeled_project

from labeler.export import export_dataset, verify_snapshot
from labeler.store import Store
from labeler.store import schema as t
from labeler.store.database import make_engine, migrate
from labeler.store.export_queries import snapshots

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import json, sys
    from labeler.export import export_dataset
    from labeler.store import Store, ProjectLocation

    location = ProjectLocation.from_json(json.loads(sys.argv[1]))
    with Store.open(location) as store:
        print("ready", flush=True)
        sys.stdin.readline()  # start together
        versions = [export_dataset(store, "jsonl", chunk_size=7).version for _ in range(2)]
    print(json.dumps(versions), flush=True)
    """
)


def test_concurrent_threads_get_distinct_versions(make_store):
    store = make_store()
    labeled_project(store, n=30)
    clients = [Store.open(store.location) for _ in range(5)]
    barrier = threading.Barrier(len(clients))
    results: list[object] = []
    errors: list[BaseException] = []

    def work(client: Store) -> None:
        barrier.wait()
        try:
            for fmt in ("csv", "jsonl"):
                results.append(export_dataset(client, fmt, chunk_size=7))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for c in clients:
        c.close()
    assert errors == []
    versions = sorted(r.version for r in results)  # type: ignore[attr-defined]
    assert versions == list(range(1, 11))
    for r in results:
        # the default file name carries the reserved version, and the manifest agrees
        assert r.path.name.startswith(f"{store.info.name}-v{r.version}.")  # type: ignore[attr-defined]
        assert verify_snapshot(r.path)["snapshot_version"] == r.version  # type: ignore[attr-defined]
        assert r.manifest["rows"] == 30  # type: ignore[attr-defined]
    assert [s.version for s in snapshots(store)] == list(range(1, 11))


@pytest.mark.slow
def test_concurrent_processes_get_distinct_versions(make_store):
    store = make_store()
    labeled_project(store, n=30)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps(store.location.to_json())],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        got: list[int] = []
        for child in children:
            out, _ = child.communicate(timeout=120)
            assert child.returncode == 0, out
            got.extend(json.loads(out.strip().splitlines()[-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert sorted(got) == list(range(1, 7))
    assert [s.version for s in snapshots(store)] == list(range(1, 7))


def test_the_database_refuses_a_duplicate_version(make_store, tmp_path):
    store = make_store()
    labeled_project(store, n=4)
    export_dataset(store, "csv", tmp_path / "a.csv")
    with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
        conn.execute(
            t.export_snapshot.insert().values(
                project_id=store.project_id,
                version=1,
                format="csv",
                path="elsewhere.csv",
                manifest="{}",
                created_at=sa.func.now(),
            )
        )


def test_a_failed_export_releases_its_version(make_store, tmp_path):
    store = make_store()
    labeled_project(store, n=4)
    (tmp_path / "taken.csv.manifest.json").write_text("{}")
    with pytest.raises(Exception, match="already exists"):
        export_dataset(store, "csv", tmp_path / "taken.csv")
    assert export_dataset(store, "csv", tmp_path / "b.csv").version == 1
    assert [s.version for s in snapshots(store)] == [1]


def test_migration_renumbers_versions_an_older_labeler_duplicated(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    db = folder / "project.db"  # where an older Labeler kept it
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine, db, target="0004", create=True)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO project (name, modality, task_type, settings, created_at) "
                "VALUES ('old','text','single-label','{}', '2025-01-01 00:00:00')"
            )
        )
        for version, path in [(1, "a.csv"), (2, "b.csv"), (2, "c.csv"), (1, "d.csv")]:
            conn.execute(
                sa.text(
                    "INSERT INTO export_snapshot (project_id, version, format, path, manifest, "
                    "created_at) VALUES (1, :v, 'csv', :p, '{}', '2025-01-01 00:00:00')"
                ),
                {"v": version, "p": path},
            )
    engine.dispose()

    with Store.open(folder) as store:
        got = {s.path: s.version for s in snapshots(store)}
    assert got == {"a.csv": 1, "b.csv": 2, "c.csv": 3, "d.csv": 4}
    with sqlite3.connect(folder / ".labeler" / "project.db") as conn:  # moved there on open
        assert conn.execute("SELECT DISTINCT state FROM export_snapshot").fetchall() == [("done",)]
