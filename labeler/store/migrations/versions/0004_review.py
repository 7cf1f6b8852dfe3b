"""review: suspected label errors (confident learning), ranked, for the review table

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suspected_error",
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "sample_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("given", sa.Text(), nullable=False),
        sa.Column("suggested", sa.Text(), nullable=False),
        sa.Column("p_given", sa.Float(), nullable=False),
        sa.Column("p_suggested", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sample_id"], ["sample.id"]),
        sa.PrimaryKeyConstraint("project_id", "sample_id"),
    )
    with op.batch_alter_table("suspected_error", schema=None) as batch_op:
        batch_op.create_index("ix_suspected_error_score", ["project_id", "score"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("suspected_error", schema=None) as batch_op:
        batch_op.drop_index("ix_suspected_error_score")
    op.drop_table("suspected_error")
