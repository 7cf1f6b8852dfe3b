"""team mode: sample claims, so two annotators are not handed the same sample

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sample_claim",
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "sample_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("annotator", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sample_id"], ["sample.id"]),
        sa.PrimaryKeyConstraint("project_id", "sample_id"),
    )
    with op.batch_alter_table("sample_claim", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sample_claim_annotator", ["project_id", "annotator"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sample_claim", schema=None) as batch_op:
        batch_op.drop_index("ix_sample_claim_annotator")
    op.drop_table("sample_claim")
