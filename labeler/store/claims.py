"""Sample claims (team mode): an annotator who is shown a sample holds it for a while, so a
colleague labeling the same project is handed other samples.

A claim expires after ``ttl`` seconds (a crashed client's claims free themselves) and is
renewed by claiming again. Claims are advisory for *ordering*: labeling a sample someone
else holds is still allowed (and recorded), it just never happens by accident.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.database import utcnow

if TYPE_CHECKING:
    from labeler.store.project_store import Store

DEFAULT_TTL_S = 15 * 60


class Claims:
    def __init__(self, store: Store) -> None:
        self._store = store

    def claim(
        self, annotator: str, sample_ids: Sequence[int], ttl_s: float = DEFAULT_TTL_S
    ) -> list[int]:
        """Claim the given samples for ``annotator`` (in order) and return those now held by them.

        Samples held by someone else (unexpired) or already labeled are left out. One
        transaction: two annotators claiming at once never both get the same sample.
        """
        if not sample_ids:
            return []
        pid = self._store.project_id
        now = utcnow()
        ids = [int(s) for s in dict.fromkeys(sample_ids)]
        c = t.sample_claim
        st = t.sample_state
        with self._store.write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x4C43_0000 + pid})
            held_by_others: set[int] = set()
            labeled: set[int] = set()
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                held_by_others.update(
                    conn.execute(
                        sa.select(c.c.sample_id).where(
                            c.c.project_id == pid,
                            c.c.sample_id.in_(part),
                            c.c.annotator != annotator,
                            c.c.expires_at > now,
                        )
                    ).scalars()
                )
                labeled.update(
                    conn.execute(
                        sa.select(st.c.sample_id).where(
                            st.c.project_id == pid,
                            st.c.sample_id.in_(part),
                            st.c.status == "labeled",
                        )
                    ).scalars()
                )
            mine = [s for s in ids if s not in held_by_others and s not in labeled]
            if mine:
                for start in range(0, len(mine), 500):
                    conn.execute(
                        c.delete().where(
                            c.c.project_id == pid, c.c.sample_id.in_(mine[start : start + 500])
                        )
                    )
                expires = now + timedelta(seconds=ttl_s)
                conn.execute(
                    c.insert(),
                    [
                        {
                            "project_id": pid,
                            "sample_id": s,
                            "annotator": annotator,
                            "claimed_at": now,
                            "expires_at": expires,
                        }
                        for s in mine
                    ],
                )
        return mine

    def release(self, annotator: str, sample_ids: Sequence[int] | None = None) -> int:
        """Give back ``annotator``'s claims (all of them when ``sample_ids`` is None)."""
        c = t.sample_claim
        q = c.delete().where(c.c.project_id == self._store.project_id, c.c.annotator == annotator)
        if sample_ids is not None:
            q = q.where(c.c.sample_id.in_([int(s) for s in sample_ids]))
        with self._store.write() as conn:
            return conn.execute(q).rowcount

    def rename(self, old: str, new: str) -> int:
        """Hand every claim of ``old`` to ``new`` (one statement: no moment where the samples
        are free, and claims made for ``old`` by a fetch already under way move too)."""
        c = t.sample_claim
        with self._store.write() as conn:
            return conn.execute(
                c.update()
                .where(c.c.project_id == self._store.project_id, c.c.annotator == old)
                .values(annotator=new)
            ).rowcount

    def held_by_others(self, annotator: str) -> set[int]:
        """Samples other annotators currently hold (to leave out of ``annotator``'s queue)."""
        c = t.sample_claim
        with self._store.read() as conn:
            return set(
                conn.execute(
                    sa.select(c.c.sample_id).where(
                        c.c.project_id == self._store.project_id,
                        c.c.annotator != annotator,
                        c.c.expires_at > utcnow(),
                    )
                ).scalars()
            )
