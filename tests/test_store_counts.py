"""Counts kept by the database (``state_tally``) and counted in SQL equal a recount from the
label events, on SQLite and PostgreSQL, through every kind of write."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from _review_data import add_samples

from labeler.store import Store
from labeler.store import schema as t
from labeler.store.derive import derive_state
from labeler.store.tally import FOLD_ABOVE, fold


def recount(store: Store) -> dict:
    """Counts derived in Python from every event (the slow, obviously right way)."""
    by_sample: dict[int, list] = {}
    for ev in store.labels.events():
        by_sample.setdefault(ev.sample_id, []).append(ev)
    labeled = skipped = flagged = 0
    per_class = Counter({name: 0 for name in store.info.label_names})
    for events in by_sample.values():
        from labeler.store.derive import EventView

        state = derive_state(
            [EventView(e.id, e.action, e.annotator, e.labels, e.target_event_id) for e in events]
        )
        labeled += state.status == "labeled"
        skipped += state.status == "skipped"
        flagged += state.flagged
        if state.status == "labeled":
            per_class.update(state.labels)
    ann = store.labels.by_annotator()
    per_annotator = {str(a): int(n) for a, n in ann.groupby("annotator").size().items()}
    return {
        "samples": len(store.samples.ids()),
        "labeled": labeled,
        "skipped": skipped,
        "flagged": flagged,
        "per_class": dict(per_class),
        "per_annotator": per_annotator,
    }


def counted(store: Store) -> dict:
    s = store.summary()
    c = store.counts()
    assert (c.samples, c.labeled, c.skipped, c.flagged) == (
        s["samples"],
        s["labeled"],
        s["skipped"],
        s["flagged"],
    )
    assert c.unlabeled == s["unlabeled"] == s["samples"] - s["labeled"]
    keys = ("samples", "labeled", "skipped", "flagged", "per_class", "per_annotator")
    return {k: s[k] for k in keys}


def test_counts_follow_every_kind_of_write(make_store):
    store = make_store(labels=("pos", "neg", "mixed"))
    ids = add_samples(store, [f"text {i}" for i in range(20)])
    assert counted(store) == recount(store)
    for i, sid in enumerate(ids[:12]):
        store.labels.add(sid, [("pos", "neg", "mixed")[i % 3]], "alice")
    store.labels.add(ids[0], ["neg"], "bob")  # a second annotator on a labeled sample
    store.labels.skip(ids[12], "alice")
    store.labels.skip(ids[13], "bob")
    store.labels.flag(ids[1], "alice", "odd")
    store.labels.flag(ids[14], "bob")
    store.labels.adjudicate(ids[0], ["mixed"], "lead")
    assert counted(store) == recount(store)

    assert store.labels.undo("alice") is not None  # the flag
    assert store.labels.undo("alice") is not None  # the skip
    assert store.labels.undo("alice") is not None  # the 12th label
    assert store.labels.redo("alice") is not None
    assert store.labels.undo("lead") is not None
    assert store.labels.undo("bob") is not None  # bob's flag
    assert counted(store) == recount(store)

    with store.samples.bulk_import("more", "1" * 64) as batch:
        new = batch.add_samples(
            [(f"n{i}", f"h{i}", f"new {i}", None, None, None) for i in range(5)]
        )
        batch.add_labels(new[:3], [("pos",), ("neg",), ("pos",)])
    assert counted(store) == recount(store)

    before = counted(store)
    store.labels.rebuild_states()
    assert counted(store) == before == recount(store)


def test_a_failed_import_leaves_the_counts(make_store):
    store = make_store(labels=("pos", "neg"))
    ids = add_samples(store, ["a", "b", "c"])
    store.labels.add(ids[0], ["pos"], "alice")
    before = counted(store)
    try:
        with store.samples.bulk_import("bad", "2" * 64) as batch:
            new = batch.add_samples([("x1", "hx1", "x", None, None, None)])
            batch.add_labels(new, [("neg",)])
            raise RuntimeError("the file turned out bad")
    except RuntimeError:
        pass
    assert counted(store) == before == recount(store)


def test_many_states_are_folded_and_still_counted(make_store):
    labels = tuple(f"l{i}" for i in range(12))
    store = make_store(labels=labels, task_type="multi-label")
    ids = add_samples(store, [f"t{i}" for i in range(FOLD_ABOVE + 40)])
    for i, sid in enumerate(ids):  # many distinct label sets, each changed once more
        store.labels.add(sid, [labels[i % 12], labels[(i // 12) % 12]], "alice")
        if i % 3 == 0:
            store.labels.add(sid, [labels[(i + 1) % 12]], "alice")
    assert counted(store) == recount(store)
    fold(store)
    with store.read() as conn:
        rows = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.state_tally)
            .where(t.state_tally.c.project_id == store.project_id, t.state_tally.c.n == 0)
        ).scalar_one()
    assert rows == 0
    assert counted(store) == recount(store)


def test_undo_reads_only_the_newest_events(make_store, monkeypatch):
    """Undo and redo find their event by paging the annotator's events newest first; with a
    one-event page they still find it across many reverted events."""
    import labeler.store.undo_scan as scan

    monkeypatch.setattr(scan, "PAGE", 1)
    store = make_store(labels=("pos", "neg"))
    ids = add_samples(store, ["a", "b", "c", "d"])
    for sid in ids:
        store.labels.add(sid, ["pos"], "alice")
    undone = [store.labels.undo("alice").target.sample_id for _ in range(3)]
    assert undone == [ids[3], ids[2], ids[1]]
    assert store.labels.redo("alice").target.sample_id == ids[1]
    assert store.labels.undo("alice").target.sample_id == ids[1]
    assert store.labels.undo("alice").target.sample_id == ids[0]
    assert store.labels.undo("alice") is None
    assert counted(store) == recount(store)
