"""model artifacts in the database

Adds ``model_artifact``: the bytes of each saved model pipeline keyed by project and SHA-256.
A PostgreSQL project stores every retrain's model file there, so the app or CLI of any
member, on any machine, loads and pushes the current model (a SQLite project keeps its models
in its folder, next to the database).

Revision ID: 0009b
Revises: 0008
Create Date: 2026-11-30 12:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009b"
down_revision = "0009a"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "model_artifact",
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "sha256"),
    )


def downgrade() -> None:
    op.drop_table("model_artifact")
