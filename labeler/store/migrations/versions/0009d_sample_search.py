"""sample search: a trigram index on the samples' text and external id

SQLite: ``sample_fts``, an FTS5 table with the ``trigram`` tokenizer over ``sample.text``,
``sample.external_id`` and ``sample.file_ref`` (an image's file); external content (the index
only, the text stays in ``sample``), filled from the samples already there. An SQLite without the trigram tokenizer (older than
3.34) gets no table; searches then scan. New samples are added by the import (see
:func:`labeler.store.search.index_new_samples`).

PostgreSQL: the ``pg_trgm`` extension and GIN indexes on the same three columns (kept up to date by the server). A server without the extension, or a
user not allowed to create it, gets no index; searches then scan.

Revision ID: 0009d
Revises: 0008
Create Date: 2026-11-30 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009d"
down_revision = "0009c"
branch_labels = None
depends_on = None

FTS = "sample_fts"
PG_INDEXES = ("ix_sample_text_trgm", "ix_sample_external_id_trgm", "ix_sample_file_ref_trgm")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        try:
            bind.exec_driver_sql(
                f"CREATE VIRTUAL TABLE {FTS} USING fts5(text, external_id, file_ref, "
                "content='sample', content_rowid='id', tokenize='trigram')"
            )
        except sa.exc.OperationalError:  # no FTS5 or no trigram tokenizer: searches scan
            return
        bind.exec_driver_sql(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:  # not shipped, or not allowed: searches scan
        return
    for name, column in zip(PG_INDEXES, ("text", "external_id", "file_ref"), strict=True):
        bind.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {name} ON sample USING gin ({column} gin_trgm_ops)"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS}")
        return
    for name in PG_INDEXES:
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
