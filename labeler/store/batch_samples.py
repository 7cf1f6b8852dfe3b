"""Which samples an import batch brought, and the labeled samples from before it: the two
sides of a drift check (:mod:`labeler.learning.batch_drift`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from labeler.store import schema as t

if TYPE_CHECKING:
    from labeler.store.project_store import Store


@dataclass(frozen=True)
class BatchSplit:
    batch_id: int
    batch: list[int]  # sample ids the batch brought
    reference: list[int]  # labeled samples imported by earlier batches


def batch_split(store: Store, batch_id: int | None = None) -> BatchSplit | None:
    """The samples of ``batch_id`` (default: the newest import) and the labeled samples of
    earlier batches; None if the project has no import."""
    s, st, ib = t.sample, t.sample_state, t.import_batch
    pid = store.project_id
    with store.read() as conn:
        if batch_id is None:
            batch_id = conn.execute(
                sa.select(sa.func.max(ib.c.id)).where(ib.c.project_id == pid)
            ).scalar_one()
            if batch_id is None:
                return None
        batch = conn.execute(
            sa.select(s.c.id)
            .where(s.c.project_id == pid, s.c.import_batch_id == batch_id)
            .order_by(s.c.id)
        ).scalars()
        batch_ids = [int(x) for x in batch]
        reference = conn.execute(
            sa.select(s.c.id)
            .select_from(s.join(st, st.c.sample_id == s.c.id))
            .where(
                s.c.project_id == pid,
                s.c.import_batch_id < batch_id,
                st.c.status == "labeled",
            )
            .order_by(s.c.id)
        ).scalars()
        return BatchSplit(int(batch_id), batch_ids, [int(x) for x in reference])
