"""Team mode: claims keep two annotators from being handed the same sample."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from labeler.store import Store
from labeler.store import schema as t
from labeler.store.database import utcnow


def _samples(store, n):
    rows = [(f"s{i}", f"h{i}", f"text {i}", None, None, None) for i in range(n)]
    with store.samples.bulk_import("mem", "x") as batch:
        return batch.add_samples(rows)


def test_claims_split_work_between_annotators(make_store):
    store = make_store()
    ids = _samples(store, 12)
    other = Store.open(store.location)  # a second client, as on another machine
    try:
        assert store.claims.claim("alice", ids[:5]) == ids[:5]
        assert other.claims.claim("bob", ids[:10]) == ids[5:10]
        assert store.claims.held_by_others("bob") == set(ids[:5])
        # re-claiming renews one's own claims
        assert store.claims.claim("alice", ids[:2]) == ids[:2]
        # labeled samples are never claimed
        store.labels.add(ids[10], ["pos"], "carol")
        assert other.claims.claim("bob", [ids[10], ids[11]]) == [ids[11]]
        # released claims are free again
        assert store.claims.release("alice", ids[:3]) == 3
        assert other.claims.claim("bob", ids[:5]) == ids[:3]
    finally:
        other.close()


def test_expired_claims_are_free(make_store):
    store = make_store()
    ids = _samples(store, 3)
    assert store.claims.claim("alice", ids, ttl_s=-1) == ids  # already expired
    assert store.claims.claim("bob", ids) == ids
    assert store.claims.claim("alice", ids) == []


def test_concurrent_claims_never_overlap(make_store):
    store = make_store()
    ids = _samples(store, 60)
    clients = {name: Store.open(store.location) for name in ("a", "b", "c")}
    got: dict[str, list[int]] = {}
    barrier = threading.Barrier(len(clients))

    def work(name: str) -> None:
        barrier.wait()
        got[name] = clients[name].claims.claim(name, ids)

    threads = [threading.Thread(target=work, args=(n,)) for n in clients]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for c in clients.values():
        c.close()
    claimed = [s for lst in got.values() for s in lst]
    assert sorted(claimed) == sorted(ids)  # every sample went to exactly one annotator
    assert len(set(claimed)) == len(claimed)


def test_rename_hands_every_claim_to_the_new_name(make_store):
    store = make_store()
    ids = _samples(store, 6)
    store.claims.claim("alice", ids[:4])
    store.claims.claim("bob", ids[4:])
    assert store.claims.rename("alice", "alicia") == 4
    assert store.claims.held_by_others("alicia") == set(ids[4:])  # bob's stay bob's
    assert store.claims.held_by_others("bob") == set(ids[:4])
    assert store.claims.held_by_others("alice") == set(ids)  # nothing left under the old name
    assert store.claims.claim("carol", ids) == []


def test_sessions_of_one_annotator_hold_samples_apart(make_store):
    store = make_store()
    ids = _samples(store, 6)
    assert store.claims.claim("ann", ids[:3], session="laptop") == ids[:3]
    assert store.claims.claim("ann", ids, session="desktop") == ids[3:]
    assert store.claims.held_by_others("ann", "desktop") == set(ids[:3])
    assert store.claims.held_by_others("ann") == set()  # per annotator: all hers
    assert store.claims.release("ann", session="laptop") == 3
    assert store.claims.held_by_others("bob") == set(ids[3:])


def test_renewing_extends_and_expired_rows_are_deleted(make_store):
    store = make_store()
    ids = _samples(store, 4)
    store.claims.claim("ann", ids[:2], ttl_s=60, session="s1")
    store.claims.claim("bob", ids[2:], ttl_s=-1, session="s2")  # expired at once
    assert store.claims.renew("ann", "s1") == 2  # a live app's heartbeat: 15 more minutes
    assert store.claims.renew("bob", "s2") == 0  # an expired claim is not revived
    with store.read() as conn:
        expiry = conn.execute(
            sa.select(sa.func.min(t.sample_claim.c.expires_at)).where(
                t.sample_claim.c.annotator == "ann",
                t.sample_claim.c.project_id == store.project_id,
            )
        ).scalar_one()
    assert expiry > utcnow() + timedelta(minutes=10)
    assert store.claims.held_by_others("carol") == set(ids[:2])
    store.claims.claim("carol", [ids[0]])  # any claim transaction deletes expired rows
    with store.read() as conn:
        rows = (
            conn.execute(
                sa.select(t.sample_claim.c.annotator).where(
                    t.sample_claim.c.project_id == store.project_id
                )
            )
            .scalars()
            .all()
        )
    assert sorted(rows) == ["ann", "ann"]


def test_dead_sessions_of_the_annotator_are_released(make_store):
    store = make_store()
    ids = _samples(store, 6)
    store.claims.claim("ann", ids[:2], session="old")
    store.claims.claim("ann", ids[2:4])  # an older version's claim (no session)
    store.claims.claim("bob", ids[4:], session="bobs")
    # with nothing renewed within 0 s, every other session of ann's counts as dead
    assert store.claims.release_dead_sessions("ann", "new", dead_after_s=-1) == 4
    assert store.claims.held_by_others("carol") == set(ids[4:])  # bob's are not ann's to free
    # a live session (renewed recently) keeps its claims
    store.claims.claim("ann", ids[:2], session="live")
    assert store.claims.release_dead_sessions("ann", "new") == 0


def test_renewing_gives_back_what_the_session_no_longer_shows(make_store):
    store = make_store()
    ids = _samples(store, 5)
    store.claims.claim("ann", ids[:4], session="app")
    store.claims.claim("bob", ids[4:], session="bobs")
    assert store.claims.renew("ann", "app", keep={ids[0], ids[2]}) == 2
    assert store.claims.held_by_others("carol") == {ids[0], ids[2], ids[4]}


def test_undo_holds_the_sample_again_in_its_own_transaction(make_store):
    """An undone label brings its sample back on the annotator's screen: the undo claims it
    again for that session; a flag's undo (the sample never left the screen) claims nothing,
    and a sample someone else holds meanwhile is not taken from them."""
    store = make_store()
    ids = _samples(store, 3)

    def holder(sample_id):
        c = t.sample_claim
        with store.read() as conn:
            return conn.execute(
                sa.select(c.c.annotator, c.c.session).where(c.c.sample_id == sample_id)
            ).first()

    store.labels.add(ids[0], ["pos"], "alice", session="s1")
    assert holder(ids[0]) is None  # labeled and never claimed (or given back by the heartbeat)
    reverted = store.labels.undo("alice", session="s1", hold=True)
    assert reverted is not None and reverted.target.sample_id == ids[0]
    assert tuple(holder(ids[0])) == ("alice", "s1")

    # a claim the session still has (the heartbeat has not given it back) is extended
    store.labels.add(ids[0], ["pos"], "alice", session="s1")
    with store.write() as conn:
        conn.execute(
            t.sample_claim.update()
            .where(t.sample_claim.c.sample_id == ids[0])
            .values(expires_at=utcnow() + timedelta(seconds=5))
        )
    store.labels.undo("alice", session="s1", hold=True)
    c = t.sample_claim
    with store.read() as conn:
        rows = conn.execute(
            sa.select(c.c.annotator, c.c.session, c.c.expires_at).where(c.c.sample_id == ids[0])
        ).all()
    assert len(rows) == 1 and tuple(rows[0][:2]) == ("alice", "s1")
    assert rows[0].expires_at > utcnow() + timedelta(seconds=60)

    store.labels.flag(ids[1], "alice", "odd", session="s1")
    store.labels.undo("alice", session="s1", hold=True)
    assert holder(ids[1]) is None

    store.labels.add(ids[2], ["pos"], "alice", session="s1")
    assert store.claims.claim("bob", [ids[2]], session="b1") == []  # labeled: not claimable
    store.labels.undo("alice", session="s1")  # without hold: nobody holds it
    assert holder(ids[2]) is None
    assert store.claims.claim("bob", [ids[2]], session="b1") == [ids[2]]
    store.labels.redo("alice", session="s1")
    store.labels.undo("alice", session="s1", hold=True)
    assert tuple(holder(ids[2])) == ("bob", "b1")  # bob's unexpired claim stays his


def test_a_snapshot_sees_one_state_across_reads(make_store):
    """Inside ``Store.snapshot`` every read on the thread sees the database as it was when
    the snapshot began: a colleague's label and release in between change nothing there."""
    store = make_store()
    ids = _samples(store, 3)
    other = Store.open(store.location)
    try:
        assert other.claims.claim("bob", [ids[0]]) == [ids[0]]
        with store.snapshot():
            assert store.claims.held_by_others("alice") == {ids[0]}
            other.labels.add(ids[0], ["pos"], "bob")
            other.claims.release("bob", [ids[0]])
            assert store.claims.held_by_others("alice") == {ids[0]}
            assert store.claims.held_for_later("alice") == 1
            assert store.labels.unlabeled_ids() == ids
        assert store.claims.held_by_others("alice") == set()
        assert store.claims.held_for_later("alice") == 0
        assert store.labels.unlabeled_ids() == ids[1:]
    finally:
        other.close()


def test_a_snapshot_refuses_writes_and_leaves_its_connection_writable(make_store):
    """A write on the snapshot's connection is refused by the database (a snapshot is for
    reads; writes commit on their own connection); afterwards that pooled connection writes
    again."""
    store = make_store()
    ids = _samples(store, 2)
    with store.snapshot():
        with (
            store.read() as conn,
            pytest.raises(sa.exc.DBAPIError, match="(?i)read.only|readonly"),
        ):
            conn.execute(sa.delete(t.sample_claim))
        # writes still work beside it, on their own connection
        assert store.claims.claim("alice", [ids[0]]) == [ids[0]]
    assert store.claims.claim("alice", [ids[1]]) == [ids[1]]
    store.labels.add(ids[1], ["pos"], "alice")
    assert store.labels.unlabeled_ids() == [ids[0]]
