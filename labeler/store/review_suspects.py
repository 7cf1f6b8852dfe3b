"""Suspected label errors as stored for review mode: replaced as a whole from a model's
out-of-fold predictions, listed by score (1 - the probability of the given label), highest
first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.records import dumps, loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store


@dataclass(frozen=True)
class SuspectRow:
    sample_id: int
    external_id: str
    given: tuple[str, ...]
    suggested: tuple[str, ...]
    p_given: float
    p_suggested: float
    score: float


def replace_suspects(
    store: Store,
    model_version: int,
    rows: Sequence[tuple[int, Sequence[str], Sequence[str], float, float, float]],
) -> None:
    """Replace the suspected errors with ``(sample_id, given, suggested, p_given, p_suggested,
    score)`` rows computed from ``model_version``'s out-of-fold predictions."""
    se = t.suspected_error
    with store.write() as conn:
        conn.execute(se.delete().where(se.c.project_id == store.project_id))
        if rows:
            conn.execute(
                se.insert(),
                [
                    {
                        "project_id": store.project_id,
                        "sample_id": int(sid),
                        "model_version": int(model_version),
                        "given": dumps(list(given)),
                        "suggested": dumps(list(suggested)),
                        "p_given": float(pg),
                        "p_suggested": float(ps),
                        "score": float(score),
                    }
                    for sid, given, suggested, pg, ps, score in rows
                ],
            )


def suspects(
    store: Store, limit: int | None = None, sample_id: int | None = None
) -> list[SuspectRow]:
    """Suspected label errors, highest score (least likely given label) first, or the entry of
    one sample."""
    se, s = t.suspected_error, t.sample
    query = (
        sa.select(se, s.c.external_id)
        .select_from(se.join(s, s.c.id == se.c.sample_id))
        .where(se.c.project_id == store.project_id)
        .order_by(se.c.score.desc(), se.c.sample_id)
    )
    if sample_id is not None:
        query = query.where(se.c.sample_id == sample_id)
    if limit is not None:
        query = query.limit(limit)
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [
        SuspectRow(
            r.sample_id,
            r.external_id,
            loads_labels(r.given) or (),
            loads_labels(r.suggested) or (),
            r.p_given,
            r.p_suggested,
            r.score,
        )
        for r in rows
    ]
