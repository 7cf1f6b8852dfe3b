"""export snapshots: versions unique per project, reserved before the file is written

Adds ``export_snapshot.state`` (``writing`` while an export runs, ``done`` when its file and
manifest are in place; existing rows are ``done``) and a unique constraint on
``(project_id, version)``. Versions that two concurrent exports of an older Labeler may have
shared are renumbered first (the later row moves to the next free version), so the
constraint can be created on any existing project.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 22:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _renumber_duplicates() -> None:
    conn = op.get_bind()
    es = sa.table(
        "export_snapshot",
        sa.column("id", sa.Integer),
        sa.column("project_id", sa.Integer),
        sa.column("version", sa.Integer),
    )
    rows = conn.execute(sa.select(es.c.id, es.c.project_id, es.c.version).order_by(es.c.id)).all()
    top: dict[int, int] = {}
    for r in rows:
        top[r.project_id] = max(top.get(r.project_id, 0), int(r.version))
    seen: set[tuple[int, int]] = set()
    for r in rows:
        key = (r.project_id, int(r.version))
        if key in seen:
            top[r.project_id] += 1
            conn.execute(es.update().where(es.c.id == r.id).values(version=top[r.project_id]))
            key = (r.project_id, top[r.project_id])
        seen.add(key)


def upgrade() -> None:
    _renumber_duplicates()
    with op.batch_alter_table("export_snapshot", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=20), nullable=False, server_default="done")
        )
        batch_op.create_unique_constraint("uq_export_snapshot_version", ["project_id", "version"])


def downgrade() -> None:
    with op.batch_alter_table("export_snapshot", schema=None) as batch_op:
        batch_op.drop_constraint("uq_export_snapshot_version", type_="unique")
        batch_op.drop_column("state")
