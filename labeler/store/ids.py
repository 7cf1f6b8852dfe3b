"""Reserving primary keys for bulk inserts, so rows and their children can be written together."""

from __future__ import annotations

import sqlalchemy as sa


def reserve_ids(conn: sa.Connection, table: sa.Table, n: int) -> range:
    """Return ``n`` fresh ids for ``table``, valid inside the current write transaction.

    SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), so ids above the
    current maximum are free. PostgreSQL: ids are drawn from the table's sequence.
    """
    if n <= 0:
        return range(0)
    if conn.dialect.name == "sqlite":
        start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
        return range(start + 1, start + 1 + n)
    seq = f"{table.name}_id_seq"
    rows = (
        conn.execute(
            sa.text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"),
            {"seq": seq, "n": n},
        )
        .scalars()
        .all()
    )
    rows = sorted(rows)
    if rows[-1] - rows[0] + 1 == n:
        return range(rows[0], rows[-1] + 1)
    # Sequences may interleave with other sessions: fall back to the exact list.
    return rows  # type: ignore[return-value]
