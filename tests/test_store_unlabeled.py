"""Unlabeled samples in import order, read from a cursor (labeler.store.unlabeled)."""

from __future__ import annotations

from _review_data import add_samples


def test_the_cursor_gives_what_a_read_from_the_start_gives(make_store):
    store = make_store()
    ids = add_samples(store, [f"t{i}" for i in range(40)])
    for sid in ids[:20]:
        store.labels.add(sid, ["pos"], "alice")
    store.labels.skip(ids[25], "alice")
    assert store.labels.unlabeled_ids(limit=5) == ids[20:25]
    for sid in ids[20:23]:
        store.labels.add(sid, ["neg"], "alice")
    assert store.labels.unlabeled_ids(limit=5) == [ids[23], ids[24], *ids[26:29]]
    # near the end the whole project is read again: skipped samples come last
    assert store.labels.unlabeled_ids(limit=20) == [ids[23], ids[24], *ids[26:40], ids[25]]
    assert store.labels.unlabeled_ids(exclude_skipped=True, limit=50) == [
        ids[23],
        ids[24],
        *ids[26:40],
    ]


def test_a_sample_unlabeled_below_the_cursor_is_not_lost(make_store):
    store = make_store()
    ids = add_samples(store, [f"t{i}" for i in range(12)])
    for sid in ids[:6]:
        store.labels.add(sid, ["pos"], "alice")
    assert store.labels.unlabeled_ids(limit=3) == ids[6:9]  # the cursor is past ids[5]
    store.labels.add(ids[0], ["neg"], "bob")
    store.labels.undo("bob")
    store.labels.undo("alice")  # alice's ids[5] is unlabeled again, below the cursor
    assert ids[5] not in store.labels.unlabeled_ids(limit=3)  # later in the order, not lost
    assert ids[5] in store.labels.unlabeled_ids(limit=10)
    assert store.labels.unlabeled_ids() == ids[5:]
