"""Overlap: a share of the samples goes to k distinct annotators, never twice to the same one,
on SQLite and PostgreSQL, also when several clients race for samples."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from labeler.errors import ProjectError
from labeler.store import Store
from labeler.store import schema as t
from labeler.store.annotator_queue import OVERLAP_STRATEGY, candidates, outlook
from labeler.store.overlap import OverlapSettings, open_overlap_ids, overlap_progress


def _samples(store: Store, n: int) -> list[int]:
    rows = [(f"s{i}", f"h{i}", f"text {i}", None, None, None) for i in range(n)]
    with store.samples.bulk_import("mem", "x") as batch:
        return batch.add_samples(rows)


def _set_overlap(store: Store, k: int, fraction: float = 1.0) -> OverlapSettings:
    overlap = OverlapSettings(k, fraction).checked()
    store.update_settings(**overlap.to_settings(store.info.settings))
    return overlap


def _ids(cands) -> list[int]:  # type: ignore[no-untyped-def]
    return [sid for sid, _, _ in cands]


def test_overlap_membership_is_the_same_in_python_and_sql(make_store) -> None:
    store = make_store()
    ids = _samples(store, 2000)
    overlap = _set_overlap(store, 2, 0.2)
    s = t.sample
    with store.read() as conn:
        in_sql = set(
            conn.execute(
                sa.select(s.c.id).where(
                    s.c.project_id == store.project_id, overlap.sql_in_overlap(s.c.id)
                )
            ).scalars()
        )
    in_python = {i for i in ids if overlap.in_overlap(i)}
    assert in_sql == in_python
    assert 0.18 < len(in_python) / len(ids) < 0.22  # the share asked for
    with store.read() as conn:
        progress = overlap_progress(conn, store.project_id)
    assert (progress.planned, progress.started, progress.complete) == (len(in_python), 0, 0)


def test_settings_parse_and_refuse_bad_values() -> None:
    assert OverlapSettings.from_settings({}) == OverlapSettings(1, 1.0)
    assert not OverlapSettings().active
    assert OverlapSettings.from_settings({"team": {"overlap": "x", "overlap_fraction": 2}}) == (
        OverlapSettings(1, 1.0)
    )
    assert OverlapSettings(3, 0.5).to_settings({"team": {"other": 1}}) == {
        "team": {"other": 1, "overlap": 3, "overlap_fraction": 0.5}
    }
    with pytest.raises(ProjectError, match="overlap must be"):
        OverlapSettings(0, 0.5).checked()
    with pytest.raises(ProjectError, match="fraction"):
        OverlapSettings(2, 1.5).checked()


def test_a_labeled_overlap_sample_goes_to_the_next_annotator_only(make_store) -> None:
    store = make_store()
    ids = _samples(store, 10)
    _set_overlap(store, 2)
    store.labels.add(ids[3], ["pos"], "alice")
    # bob is handed it first (a second opinion), before the samples nobody labeled yet
    bob = candidates(store, 3, annotator="bob")
    assert _ids(bob) == [ids[3], ids[0], ids[1]]
    assert bob[0][1].strategy == OVERLAP_STRATEGY
    # alice never gets it again
    assert ids[3] not in _ids(candidates(store, 10, annotator="alice"))
    assert store.claims.claim("alice", [ids[3]]) == []
    # alice still holds her claim from labeling: it does not keep bob from the sample
    assert store.claims.claim("bob", [ids[3]]) == [ids[3]]
    assert store.claims.held_by_others("carol") == {ids[3]}
    store.labels.add(ids[3], ["neg"], "bob")
    # two distinct annotators: done, for everyone
    assert ids[3] not in _ids(candidates(store, 10, annotator="carol"))
    assert store.claims.claim("carol", [ids[3]]) == []
    state = store.labels.state(ids[3])
    assert (state.n_annotators, state.disagreement) == (2, True)


def test_undo_skip_and_adjudication(make_store) -> None:
    store = make_store()
    ids = _samples(store, 4)
    _set_overlap(store, 3)
    store.labels.add(ids[0], ["pos"], "alice")
    store.labels.skip(ids[0], "bob")  # bob passed on it: not offered to him again
    assert _ids(candidates(store, 1, annotator="bob")) == [ids[1]]
    assert _ids(candidates(store, 1, annotator="carol")) == [ids[0]]
    # an undone label frees the sample for its annotator again (the app shows it at once)
    store.labels.add(ids[1], ["pos"], "alice")
    store.claims.claim("alice", [ids[1]])
    store.labels.undo("alice")
    assert store.claims.claim("alice", [ids[1]]) == [ids[1]]
    assert store.claims.held_by_others("bob") == {ids[1]}  # and her claim holds it again
    # an adjudicated sample needs no more labels
    store.labels.adjudicate(ids[0], ["neg"], "lead")
    assert ids[0] not in _ids(candidates(store, 4, annotator="carol"))
    with store.read() as conn:
        assert open_overlap_ids(conn, store.project_id, OverlapSettings(3), "carol", ids) == set()


def test_without_overlap_nothing_changes(make_store) -> None:
    store = make_store()
    ids = _samples(store, 5)
    store.labels.add(ids[0], ["pos"], "alice")
    assert _ids(candidates(store, 5, annotator="bob")) == ids[1:]
    assert store.claims.claim("bob", [ids[0]]) == []


def test_only_the_overlap_share_is_labeled_twice(make_store) -> None:
    store = make_store()
    ids = _samples(store, 200)
    overlap = _set_overlap(store, 2, 0.25)
    expected = {i for i in ids if overlap.in_overlap(i)}
    for i, sid in enumerate(ids):
        store.labels.add(sid, ["pos"], "alice" if i % 2 else "bob")
    pending = {
        "alice": set(_ids(candidates(store, 200, annotator="alice"))),
        "bob": set(_ids(candidates(store, 200, annotator="bob"))),
    }
    # each overlap sample waits for the one of the two who has not labeled it
    assert pending["alice"] | pending["bob"] == expected
    assert not pending["alice"] & pending["bob"]


def _race(make_store, names: list[str], n: int, k: int, fraction: float):  # type: ignore[no-untyped-def]
    """Clients (one Store each, as separate machines) fetch, claim and label as fast as they
    can until nothing is left for them, as the app does: an empty queue while colleagues
    hold samples this client has not labeled is "not now" (the app polls), not "done".
    Returns the store and every label event."""
    store = make_store()
    ids = _samples(store, n)
    overlap = _set_overlap(store, k, fraction)
    clients = {name: Store.open(store.location) for name in names}
    barrier = threading.Barrier(len(names))
    errors: list[BaseException] = []

    def work(name: str) -> None:
        client = clients[name]
        try:
            barrier.wait()
            while True:
                seen = outlook(client, 5, (), name, None)
                chosen = _ids(seen.chosen)
                if not chosen:
                    if not seen.held_elsewhere:
                        return
                    time.sleep(0.005)  # a colleague's label may make a held sample due
                    continue
                for sid in client.claims.claim(name, chosen):
                    client.labels.add(sid, ["pos" if sid % 3 else "neg"], name)
                    client.claims.release(name, [sid])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for c in clients.values():
        c.close()
    assert errors == []
    return store, ids, overlap


@pytest.mark.slow
def test_racing_clients_give_each_sample_exactly_k_distinct_annotators(make_store) -> None:
    store, ids, overlap = _race(make_store, ["a", "b", "c", "d"], 80, 3, 0.5)
    labels = [e for e in store.labels.events() if e.action == "label"]
    per_pair = Counter((e.sample_id, e.annotator) for e in labels)
    assert max(per_pair.values()) == 1  # never twice to the same annotator
    who: dict[int, set[str]] = defaultdict(set)
    for e in labels:
        who[e.sample_id].add(e.annotator)
    assert {sid: len(who[sid]) for sid in ids} == {sid: overlap.required(sid) for sid in ids}
    assert 20 < sum(overlap.in_overlap(s) for s in ids) < 60
    with store.read() as conn:
        progress = overlap_progress(conn, store.project_id)
    assert progress.planned == progress.complete == sum(overlap.in_overlap(s) for s in ids)
