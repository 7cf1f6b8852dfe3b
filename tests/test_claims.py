"""Team mode: claims keep two annotators from being handed the same sample."""

from __future__ import annotations

import threading

from labeler.store import Store


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
