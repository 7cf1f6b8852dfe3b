"""model runs record their model file's SHA-256

Adds ``model_run.artifact_sha256``: the SHA-256 of the model file, computed by the retrain
right after saving it, so a push or a load can tell a changed file from the one trained.
Runs recorded earlier keep it empty (and their absolute ``artifact`` path): readers fall back
to the file as found (see :mod:`labeler.learning.artifact`). New runs store ``artifact``
relative to the project folder.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("artifact_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_run", schema=None) as batch_op:
        batch_op.drop_column("artifact_sha256")
