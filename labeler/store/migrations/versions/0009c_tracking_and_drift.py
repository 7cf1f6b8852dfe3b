"""retrains record their MLflow run id; drift is recorded per import batch

Adds ``model_run.mlflow_run_id`` (the run a retrain logged in the project's tracking
experiment, when the project has a tracking URI; see :mod:`labeler.learning.tracking`) and the
table ``batch_drift``: one row per drift check of an import batch against the labeled samples
of earlier imports (see :mod:`labeler.learning.batch_drift`). Older projects get empty columns
and no drift rows; nothing is rewritten.

Revision ID: 0009c
Revises: 0008
Create Date: 2026-11-30 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009c"
down_revision = "0009b"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("model_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mlflow_run_id", sa.String(length=64), nullable=True))
    op.create_table(
        "batch_drift",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "project_id", BigId, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "import_batch_id",
            BigId,
            sa.ForeignKey("import_batch.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("checked_at", sa.DateTime, nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("method", sa.String(20), nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("n_reference", sa.Integer, nullable=False, server_default="0"),
        sa.Column("n_batch", sa.Integer, nullable=False, server_default="0"),
        sa.Column("feature", sa.Text, nullable=True),
        sa.Column("reference_event", BigId, nullable=True),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_batch_drift_batch", "batch_drift", ["project_id", "import_batch_id"])


def downgrade() -> None:
    op.drop_index("ix_batch_drift_batch", table_name="batch_drift")
    op.drop_table("batch_drift")
    with op.batch_alter_table("model_run", schema=None) as batch_op:
        batch_op.drop_column("mlflow_run_id")
