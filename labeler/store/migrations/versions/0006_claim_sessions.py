"""team mode: claims held by an app session, not only by an annotator name

Adds ``sample_claim.session`` (null for claims made by an older version: they keep working
as claims of the annotator and expire as before).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sample_claim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sample_claim", schema=None) as batch_op:
        batch_op.drop_column("session")
