"""every retrain records its prediction for the whole unlabeled pool

Adds ``pool_prediction``: per project, the newest model's top class and confidence for every
unlabeled sample, packed into three arrays (see ``labeler.store.pool_predictions``), so the
audit queue can list the samples the model is truly sure of instead of the few hundred
queued ones, which are the least sure by design. Projects trained earlier get it at their
next retrain.

Revision ID: 0009a
Revises: 0008
Create Date: 2026-11-30 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009a"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pool_prediction",
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("classes", sa.Text(), nullable=False),
        sa.Column("multi_label", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sample_ids", sa.LargeBinary(), nullable=False),
        sa.Column("predicted", sa.LargeBinary(), nullable=False),
        sa.Column("confidence", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id"),
    )


def downgrade() -> None:
    op.drop_table("pool_prediction")
