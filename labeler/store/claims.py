"""Sample claims (team mode): an annotator who is shown a sample holds it for a while, so a
colleague labeling the same project is handed other samples.

A claim belongs to an annotator *and* an app session (one id per open app; two apps of the
same login on two machines are two sessions and never share samples). Calls that pass no
``session`` see claims per annotator only (any session of that annotator counts as theirs).

A claim expires after ``ttl`` seconds (a crashed client's claims free themselves); an open
app renews its claims (:meth:`Claims.renew`, which also moves ``claimed_at``, the time the
session was last known alive) and releases them when it closes. When an annotator opens the
project again, claims of their sessions that stopped renewing are released at once
(:meth:`Claims.release_dead_sessions`). Every claim transaction deletes expired rows.

Claims are advisory for *ordering*: labeling a sample someone else holds is still allowed
(and recorded), it just never happens by accident.

Overlap (:mod:`labeler.store.overlap`): a labeled overlap sample that still needs this
annotator's label can be claimed, and a claim whose holder has labeled the sample already
does not keep colleagues from it. One claim row per sample, taken under the claim lock,
means two annotators never hold an overlap sample at once, so it never gets more than k.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.database import utcnow
from labeler.store.overlap import OverlapSettings, has_active_label, open_overlap_ids, read_settings

if TYPE_CHECKING:
    from labeler.store.project_store import Store

DEFAULT_TTL_S = 15 * 60
# a session whose claims were not renewed for this long is taken for dead (apps renew every
# minute, see ``labeler.gui.queue_feed``)
DEAD_AFTER_S = 3 * 60
_CLAIM_LOCK = 0x4C43_0000  # + project id: PostgreSQL advisory lock serialising claims


def _others(annotator: str, session: str | None) -> Any:
    """SQL condition: a claim not held by (``annotator``, ``session``)."""
    c = t.sample_claim
    if session is None:
        return c.c.annotator != annotator
    return sa.or_(c.c.annotator != annotator, c.c.session.is_(None), c.c.session != session)


def _blocking(project_id: int, overlap: OverlapSettings) -> Any:
    """SQL condition: a claim that keeps the sample from others. With overlap, a claim whose
    holder has labeled the sample already does not: the sample may need colleagues' labels,
    and its holder is never shown it again (the claim goes at the holder's next renewal)."""
    if not overlap.active:
        return sa.true()
    c = t.sample_claim
    return ~has_active_label(project_id, c.c.sample_id, c.c.annotator)


def _mine(annotator: str, session: str | None) -> Any:
    c = t.sample_claim
    if session is None:
        return c.c.annotator == annotator
    return sa.and_(c.c.annotator == annotator, c.c.session == session)


_C = t.sample_claim
_EXTEND_OWN = (
    _C.update()
    .where(
        _C.c.project_id == sa.bindparam("pid"),
        _C.c.sample_id == sa.bindparam("sid"),
        _C.c.annotator == sa.bindparam("who"),
        _C.c.session.is_not_distinct_from(sa.bindparam("sess")),
        _C.c.expires_at > sa.bindparam("now"),
    )
    .values(claimed_at=sa.bindparam("now"), expires_at=sa.bindparam("until"))
)


class Claims:
    def __init__(self, store: Store) -> None:
        self._store = store

    def claim(
        self,
        annotator: str,
        sample_ids: Sequence[int],
        ttl_s: float = DEFAULT_TTL_S,
        *,
        session: str | None = None,
    ) -> list[int]:
        """Claim the given samples for ``annotator`` (in order) and return those now held by them.

        Samples held by someone else (unexpired) or already labeled are left out, except
        overlap samples that still need this annotator's label (:mod:`labeler.store.overlap`).
        One transaction: two annotators claiming at once never both get the same sample.
        """
        if not sample_ids:
            return []
        with self._store.write() as conn:
            return self.claim_in(conn, annotator, sample_ids, ttl_s, session=session)

    def claim_in(
        self,
        conn: sa.Connection,
        annotator: str,
        sample_ids: Sequence[int],
        ttl_s: float = DEFAULT_TTL_S,
        *,
        session: str | None = None,
    ) -> list[int]:
        """:meth:`claim` inside the caller's write transaction ``conn``."""
        if not sample_ids:
            return []
        pid = self._store.project_id
        now = utcnow()
        ids = [int(s) for s in dict.fromkeys(sample_ids)]
        c = t.sample_claim
        st = t.sample_state
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CLAIM_LOCK + pid})
        conn.execute(c.delete().where(c.c.project_id == pid, c.c.expires_at <= now))
        overlap = read_settings(conn, pid)
        held_by_others: set[int] = set()
        labeled: set[int] = set()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            held_by_others.update(
                conn.execute(
                    sa.select(c.c.sample_id).where(
                        c.c.project_id == pid,
                        c.c.sample_id.in_(part),
                        _others(annotator, session),
                        _blocking(pid, overlap),
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
        labeled -= open_overlap_ids(conn, pid, overlap, annotator, labeled)
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
                        "session": session,
                        "claimed_at": now,
                        "expires_at": expires,
                    }
                    for s in mine
                ],
            )
        return mine

    def hold_again(
        self, conn: sa.Connection, annotator: str, sample_id: int, session: str | None
    ) -> bool:
        """Hold one sample for ``annotator``'s ``session`` again inside the caller's write
        transaction (an undone decision shows it again). Its own unexpired claim is simply
        extended, one statement; otherwise it is claimed as :meth:`claim_in` does. True if
        the session holds it afterwards."""
        now = utcnow()
        renewed = conn.execute(
            _EXTEND_OWN,
            {
                "pid": self._store.project_id,
                "sid": int(sample_id),
                "who": annotator,
                "sess": session,
                "now": now,
                "until": now + timedelta(seconds=DEFAULT_TTL_S),
            },
        ).rowcount
        if renewed == 1:
            return True
        return bool(self.claim_in(conn, annotator, [sample_id], session=session))

    def release(
        self,
        annotator: str,
        sample_ids: Sequence[int] | None = None,
        *,
        session: str | None = None,
    ) -> int:
        """Give back ``annotator``'s claims (all of them when ``sample_ids`` is None; with
        ``session``, only that session's)."""
        c = t.sample_claim
        q = c.delete().where(c.c.project_id == self._store.project_id, _mine(annotator, session))
        if sample_ids is not None:
            q = q.where(c.c.sample_id.in_([int(s) for s in sample_ids]))
        with self._store.write() as conn:
            return conn.execute(q).rowcount

    def renew(
        self,
        annotator: str,
        session: str,
        ttl_s: float = DEFAULT_TTL_S,
        keep: Collection[int] | None = None,
    ) -> int:
        """Extend the unexpired claims of ``session`` to ``ttl_s`` from now (its heartbeat).
        With ``keep`` (the samples the session still shows or has waiting), its other claims
        (skipped samples, a dropped prefetch) are released instead of renewed."""
        c = t.sample_claim
        now = utcnow()
        with self._store.write() as conn:
            if keep is not None:
                conn.execute(
                    c.delete().where(
                        c.c.project_id == self._store.project_id,
                        _mine(annotator, session),
                        c.c.sample_id.not_in([int(s) for s in keep]),
                    )
                )
            return conn.execute(
                c.update()
                .where(
                    c.c.project_id == self._store.project_id,
                    _mine(annotator, session),
                    c.c.expires_at > now,  # an expired claim may be someone else's by now
                )
                .values(claimed_at=now, expires_at=now + timedelta(seconds=ttl_s))
            ).rowcount

    def release_dead_sessions(
        self, annotator: str, session: str, dead_after_s: float = DEAD_AFTER_S
    ) -> int:
        """Release claims that ``annotator``'s other sessions stopped renewing (the app was
        killed, or the machine lost power) and delete every expired claim of the project."""
        c = t.sample_claim
        now = utcnow()
        pid = self._store.project_id
        with self._store.write() as conn:
            n = conn.execute(
                c.delete().where(
                    c.c.project_id == pid,
                    c.c.annotator == annotator,
                    sa.or_(c.c.session.is_(None), c.c.session != session),
                    c.c.claimed_at < now - timedelta(seconds=dead_after_s),
                )
            ).rowcount
            conn.execute(c.delete().where(c.c.project_id == pid, c.c.expires_at <= now))
        return n

    def rename(self, old: str, new: str, *, session: str | None = None) -> int:
        """Hand every claim of ``old`` (of its ``session`` only, if given) to ``new`` (one
        statement: no moment where the samples are free, and claims made for ``old`` by a
        fetch already under way move too)."""
        c = t.sample_claim
        with self._store.write() as conn:
            return conn.execute(
                c.update()
                .where(c.c.project_id == self._store.project_id, _mine(old, session))
                .values(annotator=new)
            ).rowcount

    def held_for_later(self, annotator: str, session: str | None = None) -> int:
        """How many samples others hold that ``annotator`` has not labeled: work that may
        still come to them (handed back unlabeled, or an overlap sample that needs their
        label after the holder's). An empty queue with this above zero is "not now", not
        "done"."""
        c = t.sample_claim
        pid = self._store.project_id
        with self._store.read() as conn:
            mine = ~has_active_label(pid, c.c.sample_id, sa.literal(annotator))
            # a holder who labeled the sample is done with it (the claim goes at their next
            # renewal): only overlap could still bring it here, and that is no claim's matter
            theirs = ~has_active_label(pid, c.c.sample_id, c.c.annotator)
            held = self._held_by_others(conn, annotator, session, sa.func.count(), mine, theirs)
            return int(conn.execute(held).scalar_one())

    def held_by_others(self, annotator: str, session: str | None = None) -> set[int]:
        """Samples others currently hold (to leave out of ``annotator``'s queue); with
        ``session``, the same annotator's other sessions count as others."""
        with self._store.read() as conn:
            held = self._held_by_others(conn, annotator, session, t.sample_claim.c.sample_id)
            return set(conn.execute(held).scalars())

    def _held_by_others(
        self, conn: sa.Connection, annotator: str, session: str | None, *what: Any
    ) -> sa.Select[Any]:
        """SELECT ``what[0]`` over the unexpired claims that keep samples from ``annotator``
        (``what[1:]``: further conditions)."""
        c = t.sample_claim
        pid = self._store.project_id
        overlap = read_settings(conn, pid)
        return sa.select(what[0]).where(
            c.c.project_id == pid,
            _others(annotator, session),
            c.c.expires_at > utcnow(),
            _blocking(pid, overlap),
            *what[1:],
        )
