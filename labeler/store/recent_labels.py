"""Labels given since a moment: what no model trained before that moment has seen."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.records import loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store


def labels_since(store: Store, since: datetime) -> tuple[list[int], list[tuple[str, ...]]]:
    """Labeled samples whose current label was given at or after ``since`` (by the event
    that decides it), with those labels, by sample id: labels no model trained before
    ``since`` has seen."""
    st, le = t.sample_state, t.label_event
    with store.read() as conn:
        rows = conn.execute(
            sa.select(st.c.sample_id, st.c.labels)
            .select_from(st.join(le, le.c.id == st.c.event_id))
            .where(
                st.c.project_id == store.project_id,
                st.c.status == "labeled",
                le.c.created_at >= since,
            )
            .order_by(st.c.sample_id)
        ).all()
    return [r.sample_id for r in rows], [loads_labels(r.labels) or () for r in rows]
