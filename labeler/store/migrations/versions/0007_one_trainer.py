"""team mode: one trainer per project, model versions reserved in the store

* ``model_version``: one row per model version of a project, reserved (``state`` reserved)
  before the model file is written, ``done`` when its run is recorded, ``abandoned`` when the
  run failed after reserving; who trained it and the SHA-256 of the saved model. Backfilled
  from the versions already recorded in ``model_run``.
* ``train_lease``: who is training the project (PostgreSQL; the lock itself is an advisory
  lock) and whether another member asked for a retrain meanwhile (``pending``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "model_version",
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("trainer", sa.String(length=200), nullable=True),
        sa.Column("reserved_at", sa.DateTime(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "version"),
    )
    op.create_table(
        "train_lease",
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("session", sa.String(length=64), nullable=True),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id"),
    )
    conn = op.get_bind()
    mr = sa.table(
        "model_run",
        sa.column("project_id", sa.Integer),
        sa.column("model_version", sa.Integer),
        sa.column("started_at", sa.DateTime),
    )
    rows = conn.execute(
        sa.select(mr.c.project_id, mr.c.model_version, sa.func.min(mr.c.started_at))
        .where(mr.c.model_version.is_not(None))
        .group_by(mr.c.project_id, mr.c.model_version)
    ).all()
    if rows:
        mv = sa.table(
            "model_version",
            sa.column("project_id", sa.Integer),
            sa.column("version", sa.Integer),
            sa.column("state", sa.String),
            sa.column("reserved_at", sa.DateTime),
        )
        conn.execute(
            mv.insert(),
            [
                {"project_id": p, "version": v, "state": "done", "reserved_at": t}
                for p, v, t in rows
            ],
        )


def downgrade() -> None:
    op.drop_table("train_lease")
    op.drop_table("model_version")
