"""An annotator's recent decisions, newest first: what the annotate view's history panel
lists (as Prodigy does), so a decision can be revisited and changed.

A decision is listed while it stands: a label that still decides its sample's label, or a
skip that still leaves the sample skipped. An undone label, or one a later label replaced,
is not listed (the later one is, when it is this annotator's). One row per sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.records import loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store

SNIPPET_CHARS = 80


@dataclass(frozen=True)
class Decision:
    event_id: int
    sample_id: int
    external_id: str
    action: str  # label | skip
    labels: tuple[str, ...]
    at: datetime  # when it was given (UTC)
    snippet: str  # the start of the text, or the file, or the data


def recent_decisions(store: Store, annotator: str, n: int = 20) -> list[Decision]:
    """``annotator``'s last ``n`` standing decisions in this project, newest first."""
    le, st, s = t.label_event, t.sample_state, t.sample
    stands = sa.or_(
        sa.and_(le.c.action == "label", st.c.event_id == le.c.id),
        sa.and_(le.c.action == "skip", st.c.status == "skipped"),
    )
    snippet = sa.func.substr(sa.func.coalesce(s.c.text, s.c.file_ref, s.c.data), 1, SNIPPET_CHARS)
    query = (
        sa.select(
            le.c.id,
            le.c.sample_id,
            le.c.action,
            le.c.labels,
            le.c.created_at,
            s.c.external_id,
            snippet.label("snippet"),
        )
        .select_from(
            le.join(st, st.c.sample_id == le.c.sample_id).join(s, s.c.id == le.c.sample_id)
        )
        .where(
            le.c.project_id == store.project_id,
            le.c.annotator == annotator,
            le.c.action.in_(("label", "skip")),
            stands,
        )
        .order_by(le.c.id.desc())
        .limit(4 * n)  # a sample labeled twice by us lists once
    )
    out: list[Decision] = []
    seen: set[int] = set()
    with store.read() as conn:
        for r in conn.execute(query):
            if r.sample_id in seen:
                continue
            seen.add(r.sample_id)
            out.append(
                Decision(
                    event_id=r.id,
                    sample_id=r.sample_id,
                    external_id=r.external_id,
                    action=r.action,
                    labels=loads_labels(r.labels) or (),
                    at=r.created_at,
                    snippet=" ".join(str(r.snippet or "").split()),
                )
            )
            if len(out) >= n:
                break
    return out
