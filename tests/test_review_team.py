"""Team review on SQLite and PostgreSQL: per-annotator statistics from SQL aggregates, the
adjudication queue, and exports that use its adjudications."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from labeler.export import export_dataset
from labeler.review.adjudication import adjudication_queue, team_stats
from labeler.review.agreement import agreement_report
from labeler.store import Store
from labeler.store.overlap import OverlapSettings
from labeler.store.review_stats import shared_labels
from labeler.store.review_team import annotator_stats


def _samples(store: Store, n: int) -> list[int]:
    rows = [(f"s{i}", f"h{i}", f"text number {i}", None, None, None) for i in range(n)]
    with store.samples.bulk_import("mem", "x") as batch:
        return batch.add_samples(rows)


def test_annotator_statistics(make_store) -> None:
    store = make_store(labels=("a", "b"))
    ids = _samples(store, 8)
    # alice: 4 labels taking 1, 2, 3 and 10 s (median 2.5 s), one more undone, one skip of 5 s
    for sid, ms in zip(ids[:4], (1000, 2000, 3000, 10_000), strict=True):
        store.labels.add(sid, ["a"], "alice", time_spent_ms=ms)
    store.labels.add(ids[4], ["b"], "alice", time_spent_ms=500)
    store.labels.undo("alice")
    store.labels.skip(ids[5], "alice", time_spent_ms=5000)
    # bob: 3 labels (median 4 s), on the same samples as alice
    for sid, ms, lab in zip(ids[:3], (4000, 1000, 9000), ("a", "b", "b"), strict=True):
        store.labels.add(sid, [lab], "bob", time_spent_ms=ms)
    # the lead settles samples 1 and 2 as "b" (bob right, alice wrong) and sample 0 as "a"
    store.labels.adjudicate(ids[0], ["a"], "lead")
    store.labels.adjudicate(ids[1], ["b"], "lead")
    store.labels.adjudicate(ids[2], ["b"], "lead")

    stats = {s.annotator: s for s in annotator_stats(store)}
    assert set(stats) == {"alice", "bob"}  # adjudication is not labeling
    alice, bob = stats["alice"], stats["bob"]
    assert (alice.labels, alice.samples, alice.skips) == (4, 4, 1)
    assert alice.hours == pytest.approx((1 + 2 + 3 + 10 + 0.5 + 5) / 3600)
    assert alice.median_s == pytest.approx(2.5)
    assert alice.labels_per_hour == pytest.approx(4 / alice.hours)
    assert (alice.adjudicated, alice.agreed) == (3, 1)
    assert alice.agreement == pytest.approx(1 / 3)
    assert (bob.labels, bob.median_s, bob.adjudicated, bob.agreed) == (3, 4.0, 3, 3)
    assert bob.agreement == 1.0


def test_statistics_without_times_or_adjudications(make_store) -> None:
    store = make_store()
    ids = _samples(store, 2)
    store.labels.add(ids[0], ["pos"], "carol")
    (carol,) = annotator_stats(store)
    assert carol.labels == 1 and carol.hours == 0
    assert math.isnan(carol.median_s) and math.isnan(carol.labels_per_hour)
    assert math.isnan(carol.agreement)


def test_multi_label_agreement_ignores_label_order(make_store) -> None:
    store = make_store(labels=("x", "y", "z"), task_type="multi-label")
    ids = _samples(store, 1)
    store.labels.add(ids[0], ["y", "x"], "ann")
    store.labels.add(ids[0], ["z"], "bob")
    store.labels.adjudicate(ids[0], ["x", "y"], "lead")
    stats = {s.annotator: s for s in annotator_stats(store)}
    assert (stats["ann"].agreed, stats["bob"].agreed) == (1, 0)


def test_adjudication_queue_lists_disagreements_and_exports_use_it(make_store, tmp_path) -> None:
    store = make_store(labels=("a", "b"))
    ids = _samples(store, 5)
    store.update_settings(**OverlapSettings(3, 1.0).to_settings({}))
    # s0: a, a, b -> majority a; s1: agreement; s2: a, b (tie: the latest, b); s3: one label
    for name, lab in (("ann", "a"), ("bob", "a"), ("cyd", "b")):
        store.labels.add(ids[0], [lab], name)
    for name in ("ann", "bob", "cyd"):
        store.labels.add(ids[1], ["b"], name)
    store.labels.add(ids[2], ["a"], "ann")
    store.labels.add(ids[2], ["b"], "bob")
    store.labels.add(ids[3], ["a"], "ann")

    queue = adjudication_queue(store)
    assert queue.total == 2
    s0, s2 = queue.items
    assert (s0.sample_id, s0.external_id, s0.preview) == (ids[0], "s0", "text number 0")
    assert s0.answers == (("ann", ("a",)), ("bob", ("a",)), ("cyd", ("b",)))
    assert (s0.majority, s0.tie) == (("a",), False)
    assert (s2.sample_id, s2.majority, s2.tie) == (ids[2], ("b",), True)

    # kappa and alpha on the overlap samples
    shared = shared_labels(store)
    report = agreement_report(shared.frame, shared.annotators)
    assert (report.items, report.disagreements) == (3, 2)

    def labels_for(policy: str) -> dict[str, str]:
        out = tmp_path / f"{policy}-{len(list(tmp_path.iterdir()))}.jsonl"
        export_dataset(store, "jsonl", out, policy=policy)
        frame = pd.read_json(out, lines=True, dtype={"id": str})
        return dict(zip(frame["id"], frame["label"], strict=True))

    # s2 still awaits its third annotator and s0 is disputed: the strict export leaves them out
    assert labels_for("adjudicated") == {"s1": "b"}
    assert labels_for("majority") == {"s0": "a", "s1": "b", "s2": "b", "s3": "a"}

    store.labels.adjudicate(ids[0], ["b"], "lead")  # the reviewer overrules the majority
    queue = adjudication_queue(store)
    assert [i.sample_id for i in queue.items] == [ids[2]] and queue.total == 1
    assert labels_for("adjudicated") == {"s0": "b", "s1": "b"}
    assert labels_for("majority")["s0"] == "b"

    stats = team_stats(store)
    assert (stats.overlap.planned, stats.overlap.started, stats.overlap.complete) == (5, 4, 2)
    assert {s.annotator: (s.adjudicated, s.agreed) for s in stats.annotators} == {
        "ann": (1, 0),
        "bob": (1, 0),
        "cyd": (1, 1),
    }


def test_a_redone_label_counts_again(make_store) -> None:
    store = make_store()
    ids = _samples(store, 3)
    store.labels.add(ids[0], ["pos"], "dan", time_spent_ms=1000)
    store.labels.add(ids[1], ["neg"], "dan", time_spent_ms=3000)
    store.labels.undo("dan")
    assert [(s.labels, s.median_s) for s in annotator_stats(store)] == [(1, 1.0)]
    store.labels.redo("dan")
    assert [(s.labels, s.median_s) for s in annotator_stats(store)] == [(2, 2.0)]
    store.labels.undo("dan")
    store.labels.undo("dan")  # both undone
    assert [(s.labels, s.samples) for s in annotator_stats(store)] == [(0, 0)]
