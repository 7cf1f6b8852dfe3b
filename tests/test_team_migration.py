"""A project made before team mode (schema 0005) opens: its claims keep working as the
annotator's, and model versions continue after the highest recorded one (two runs that an
older Labeler gave the same version included)."""

from __future__ import annotations

import sqlalchemy as sa

from labeler.store import Store
from labeler.store.database import current_revision, head_revision, make_engine, migrate, utcnow


def test_a_0005_project_opens_with_its_claims_and_model_versions(tmp_path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    db = folder / "project.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine, db, target="0005", create=True)
    later = "2099-01-01 00:00:00"
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        run(
            "INSERT INTO project (name, modality, task_type, settings, created_at)"
            " VALUES ('old','text','single-label','{}','2025-01-01 00:00:00')"
        )
        run("INSERT INTO label_def (project_id, position, name) VALUES (1,0,'a'),(1,1,'b')")
        run(
            "INSERT INTO import_batch (project_id, source, file_hash, row_count, created_at)"
            " VALUES (1,'f','h',3,'2025-01-01 00:00:00')"
        )
        for i in (1, 2, 3):
            run(
                "INSERT INTO sample (project_id, external_id, content_hash, text, import_batch_id)"
                f" VALUES (1,'s{i}','h{i}','text {i}',1)"
            )
        for version in (1, 2, 2):  # two concurrent runs of an older Labeler shared version 2
            run(
                "INSERT INTO model_run (project_id, model_version, status, started_at)"
                f" VALUES (1,{version},'ok','2025-01-02 00:00:00')"
            )
        run(
            "INSERT INTO sample_claim (project_id, sample_id, annotator, claimed_at, expires_at)"
            f" VALUES (1,1,'ann','{utcnow()}','{later}')"
        )
    engine.dispose()

    store = Store.open(folder)
    try:
        assert current_revision(store.engine) == head_revision()
        assert store.claims.held_by_others("bob") == {1}  # still ann's
        assert store.claims.held_by_others("ann", "a-new-session") == {1}
        assert store.models.next_version() == 3
        assert store.models.versions.reserve("ann") == 3
        run = store.models.record_run(
            status="ok", started_at=utcnow(), finished_at=utcnow(), label_count=0
        )
        assert run.model_version == 4
        with store.read() as conn:
            states = conn.execute(
                sa.text("SELECT version, state FROM model_version ORDER BY version")
            ).all()
        assert [tuple(r) for r in states] == [
            (1, "done"),
            (2, "done"),
            (3, "reserved"),
            (4, "done"),
        ]
    finally:
        store.close()
