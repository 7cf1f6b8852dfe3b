"""The annotation session's state (Qt-free) and the store operations behind the view."""

from __future__ import annotations

import pytest

from labeler.gui import annotation_ops as ops
from labeler.gui.session import AnnotationSession, Counts, Item, model_status
from labeler.store import Provenance
from tests.gui.gui_helpers import fill_text


def make_items(store, ids):  # type: ignore[no-untyped-def]
    return [Item(s, Provenance()) for s in store.samples.get_many(ids)]


def test_queue_swap_keeps_current_and_skips_done(make_store) -> None:
    store = make_store()
    ids = fill_text(store, 10)
    s = AnnotationSession(Counts(10, 0, {}))
    s.extend(make_items(store, ids[:5]))
    first = s.advance()
    assert first is not None and first.sample_id == ids[0]
    s.record_label(ids[0], ["pos"])
    s.advance()
    # a re-ranked queue arrives that lists the labeled and the current sample first
    s.replace_upcoming(make_items(store, [ids[0], ids[1], ids[9], ids[8]]))
    assert s.current is not None and s.current.sample_id == ids[1]
    assert [i.sample_id for i in s.upcoming] == [ids[9], ids[8]]
    # stale batches cannot bring back known samples
    assert s.extend(make_items(store, [ids[9], ids[1], ids[0], ids[7]])) == 1
    assert s.counts.labeled == 1 and s.counts.per_class == {"pos": 1}


def test_show_again_puts_current_back_in_front(make_store) -> None:
    store = make_store()
    ids = fill_text(store, 4)
    items = make_items(store, ids)
    s = AnnotationSession(Counts(4, 0, {}))
    s.extend(items)
    s.advance()
    s.record_label(ids[0], ["pos"])
    s.advance()
    s.show_again(items[0])
    assert s.current.sample_id == ids[0]
    assert [i.sample_id for i in s.upcoming] == [ids[1], ids[2], ids[3]]
    assert ids[0] not in s.done_ids


def test_fetch_items_prefers_queue_then_import_order(make_store) -> None:
    store = make_store()
    ids = fill_text(store, 6)
    got = ops.fetch_items(store, 3)
    assert [i.sample_id for i in got] == ids[:3]
    assert all(i.provenance == Provenance() for i in got)
    store.models.replace_queue(2, "entropy", [(ids[5], 0.9), (ids[4], 0.8), (ids[3], 0.7)])
    got = ops.fetch_items(store, 2, exclude={ids[5]})
    assert [i.sample_id for i in got] == [ids[4], ids[3]]
    assert got[0].provenance == Provenance(2, "entropy", 0.8)
    assert got[0].rank == 1


def test_model_status_from_runs(make_store) -> None:
    from labeler.store.database import utcnow

    store = make_store()
    fill_text(store, 3)
    assert ops.current_model(store).version is None
    store.models.record_run(
        status="ok",
        started_at=utcnow(),
        finished_at=utcnow(),
        label_count=12,
        metrics={"macro_f1": 0.75, "accuracy": 0.8},
    )
    m = ops.current_model(store)
    assert (m.version, m.score_name, m.score, m.trained_on) == (1, "macro_f1", 0.75, 12)
    assert m.staleness(20) == 8 and m.last_error is None
    store.models.record_run(
        status="failed", started_at=utcnow(), finished_at=utcnow(), label_count=13, error="boom"
    )
    m = ops.current_model(store)
    assert m.version == 1 and m.last_error == "boom"
    assert model_status(None, None).staleness(5) == 5


def test_labels_per_minute() -> None:
    s = AnnotationSession(Counts(0, 0, {}))
    s.stats.labels = 30
    assert s.stats.labels_per_minute(now=s.stats.started + 60) == pytest.approx(30.0)
    assert s.stats.labels_per_minute(now=s.stats.started + 0.5) == 0.0


def test_two_annotators_are_handed_different_samples(make_store) -> None:
    store = make_store()
    ids = fill_text(store, 30)
    store.models.replace_queue(1, "margin", [(sid, 0.5) for sid in ids])
    ann = ops.fetch_items(store, 10, annotator="ann")
    bob = ops.fetch_items(store, 10, annotator="bob")
    assert len(ann) == len(bob) == 10
    assert not {i.sample_id for i in ann} & {i.sample_id for i in bob}
    assert [i.sample_id for i in ann] == ids[:10]  # best first
    assert [i.sample_id for i in bob] == ids[10:20]  # nothing claimed beyond what is shown
    # ann's own refetch still gets her claimed samples; after release, others get them
    assert [i.sample_id for i in ops.fetch_items(store, 10, annotator="ann")] == ids[:10]
    ops.release_claims(store, "ann")
    carl = ops.fetch_items(store, 10, annotator="carl")
    assert [i.sample_id for i in carl] == ids[:10]


def test_an_undone_label_is_held_again_by_the_session(make_store) -> None:
    store = make_store()
    ids = fill_text(store, 3)
    store.claims.claim("ann", ids[:1], session="app")
    store.labels.add(ids[0], ["pos"], "ann", session="app")
    store.claims.renew("ann", "app", keep=set())  # heartbeat: nothing unlabeled on screen
    assert store.claims.held_by_others("bob") == set()
    ops.undo(store, "ann", "app")  # the sample is shown again
    assert store.claims.held_by_others("bob") == {ids[0]}
