"""Raw rows of one id range of a project's samples, for the partitioned (Dask) pool work,
and the project's address as it may be shipped to other machines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from labeler.store import schema as t

if TYPE_CHECKING:
    from labeler.store.project_store import Store


def partition_frame(store: Store, first: int, last: int, column: str) -> pd.DataFrame:
    """``id`` and the stored ``column`` of samples ``first..last`` (inclusive), by id."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(t.sample.c.id, t.sample.c[column])
            .where(
                t.sample.c.project_id == store.project_id,
                t.sample.c.id >= first,
                t.sample.c.id <= last,
            )
            .order_by(t.sample.c.id)
        ).all()
    return pd.DataFrame(rows, columns=["id", column])


def without_password(url: str) -> str:
    """``url`` with any password left out (a worker reads its own from libpq's passfile)."""
    parsed = sa.engine.make_url(url)
    if parsed.password is None:
        return url
    return parsed.set(password=None).render_as_string(hide_password=False)
