"""counts kept by the database: ``state_tally``

One row per (project, status, labels, flagged) with the number of samples in that state,
kept by triggers on ``sample_state`` in the same transaction as every change to it (label,
undo, import, rebuild: no writer can forget it). ``Store.counts`` reads these few rows
instead of aggregating the project's samples, so the annotate view's counters cost the same
at 1M labels as at 100.

SQLite: row triggers update the state's one row (one writer at a time). PostgreSQL:
statement triggers with transition tables append one signed delta row per state changed by
a statement; concurrent writers never update a shared row (no waits, no deadlocks), and
readers sum the rows and fold them now and then (``labeler.store.tally``).

``import_batch.row_count`` (which the sample count sums) is recomputed from the samples.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_KEY = "project_id = {r}.project_id AND status = {r}.status AND labels = COALESCE({r}.labels, '') AND flagged = {r}.flagged"


def _sqlite_add(r: str, sign: str) -> str:
    return (
        "INSERT INTO state_tally (project_id, status, labels, flagged, n) "
        f"SELECT {r}.project_id, {r}.status, COALESCE({r}.labels, ''), {r}.flagged, 0 "
        f"WHERE NOT EXISTS (SELECT 1 FROM state_tally WHERE {_KEY.format(r=r)}); "
        f"UPDATE state_tally SET n = n {sign} 1 WHERE {_KEY.format(r=r)};"
    )


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER state_tally_insert AFTER INSERT ON sample_state BEGIN {_sqlite_add('NEW', '+')} END",
    f"CREATE TRIGGER state_tally_delete AFTER DELETE ON sample_state BEGIN {_sqlite_add('OLD', '-')} END",
    "CREATE TRIGGER state_tally_update AFTER UPDATE OF project_id, status, labels, flagged "
    f"ON sample_state BEGIN {_sqlite_add('OLD', '-')} {_sqlite_add('NEW', '+')} END",
]


def _pg_rows(table: str, sign: str) -> str:
    return (
        f"SELECT project_id, status, COALESCE(labels, ''), flagged, {sign}count(*) FROM {table} "
        "GROUP BY project_id, status, COALESCE(labels, ''), flagged"
    )


_PG_INSERT = "INSERT INTO state_tally (project_id, status, labels, flagged, n) "

PG_STATEMENTS = [
    "CREATE FUNCTION labeler_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_INSERT}{_pg_rows('new_rows', '')}; RETURN NULL; END $$",
    "CREATE FUNCTION labeler_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_INSERT}{_pg_rows('old_rows', '-')}; RETURN NULL; END $$",
    "CREATE FUNCTION labeler_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"{_PG_INSERT}{_pg_rows('old_rows', '-')}; {_PG_INSERT}{_pg_rows('new_rows', '')}; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER state_tally_insert AFTER INSERT ON sample_state "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION labeler_tally_insert()",
    "CREATE TRIGGER state_tally_delete AFTER DELETE ON sample_state "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION labeler_tally_delete()",
    "CREATE TRIGGER state_tally_update AFTER UPDATE ON sample_state "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION labeler_tally_update()",
]


def upgrade() -> None:
    op.create_table(
        "state_tally",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
    )
    op.create_index(
        "ix_state_tally_project", "state_tally", ["project_id", "status", "labels", "flagged"]
    )
    op.execute(
        "INSERT INTO state_tally (project_id, status, labels, flagged, n) "
        "SELECT project_id, status, COALESCE(labels, ''), flagged, count(*) FROM sample_state "
        "GROUP BY project_id, status, COALESCE(labels, ''), flagged"
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_TRIGGERS if sqlite else PG_STATEMENTS:
        op.execute(statement)
    op.execute(
        "UPDATE import_batch SET row_count = "
        "(SELECT count(*) FROM sample WHERE sample.import_batch_id = import_batch.id)"
    )


def downgrade() -> None:
    for name in ("state_tally_insert", "state_tally_delete", "state_tally_update"):
        op.execute(
            f"DROP TRIGGER IF EXISTS {name}"
            if op.get_bind().dialect.name == "sqlite"
            else f"DROP TRIGGER IF EXISTS {name} ON sample_state"
        )
    if op.get_bind().dialect.name != "sqlite":
        for fn in ("labeler_tally_insert", "labeler_tally_delete", "labeler_tally_update"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
    op.drop_index("ix_state_tally_project", table_name="state_tally")
    op.drop_table("state_tally")
