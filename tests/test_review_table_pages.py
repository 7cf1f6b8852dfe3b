"""The review table's first page (a ``LIMIT`` query shaped for walking an index) against the
full id list (shaped for one sequential scan and sort): for every sort key, direction and a
range of filters the first page is exactly the start of the full list. Samples without a
prediction or a suspected error come last either way."""

from __future__ import annotations

import pytest
from _review_data import add_samples

from labeler.store.database import utcnow
from labeler.store.models import Prediction
from labeler.store.review_suspects import replace_suspects
from labeler.store.review_table import (
    SORT_KEYS,
    ReviewFilter,
    first_page,
    review_count,
    review_ids,
)

FILTERS = [
    ReviewFilter(),
    ReviewFilter(label="cat"),
    ReviewFilter(min_confidence=0.3, max_confidence=0.8),
    ReviewFilter(suspected=True),
    ReviewFilter(suspected=False),
    ReviewFilter(disagreement=True),
    ReviewFilter(label="dog", suspected=False, min_confidence=0.2),
]


def project(make_store):
    """40 samples: 36 labeled (every 9th of them without a prediction), 4 unlabeled; tied
    confidences; suspected errors on every 5th labeled sample; bob relabels 3."""
    store = make_store(labels=("cat", "dog"))
    ids = add_samples(store, [f"text {i}" for i in range(40)], prefix="x")
    labeled = ids[:36]
    with store.samples.bulk_import("labels", "1" * 64) as batch:
        batch.add_labels(labeled, [("cat",) if i % 3 else ("dog",) for i in range(36)], "ann")
    for sid in labeled[:3]:
        store.labels.add(sid, ["dog"], "bob")
    preds = [
        Prediction(sid, 1, ("cat",) if i % 2 else ("dog",), round((i * 7 % 10) / 10, 1), None, True)
        for i, sid in enumerate(ids)
        if i % 9 != 4
    ]
    now = utcnow()
    store.models.record_run(
        status="ok", started_at=now, finished_at=now, label_count=36, predictions=preds
    )
    replace_suspects(
        store,
        1,
        [(sid, ["cat"], ["dog"], 0.2, 0.8, (i % 4) / 4) for i, sid in enumerate(labeled[::5])],
    )
    return store, ids


@pytest.mark.parametrize("sort", SORT_KEYS)
def test_first_page_is_the_start_of_the_full_list(make_store, sort):
    store, _ = project(make_store)
    for flt in FILTERS:
        for descending in (False, True):
            full = [int(i) for i in review_ids(store, flt, sort, descending)]
            assert len(full) == review_count(store, flt), (flt, sort)
            assert len(set(full)) == len(full)
            for size in (1, 7, len(full), len(full) + 5):
                head = [int(i) for i in review_ids(store, flt, sort, descending, limit=size)]
                assert head == full[:size], (flt, sort, descending, size)
            ids, rows = first_page(store, flt, sort, descending, size=5)
            assert [int(i) for i in ids] == full[:5]
            assert set(rows) == set(full[:5])


def test_missing_values_come_last_in_both_directions(make_store):
    store, ids = project(make_store)
    no_prediction = {ids[i] for i in range(36) if i % 9 == 4}
    for descending in (False, True):
        order = [int(i) for i in review_ids(store, sort="confidence", descending=descending)]
        assert set(order[-len(no_prediction) :]) == no_prediction
        tail = order[-len(no_prediction) :]
        assert tail == sorted(tail, reverse=descending)  # by id, in the same direction
        rows = [int(i) for i in review_ids(store, sort="suspect", descending=descending)]
        assert len(rows) == 36
    by_conf = review_ids(store, sort="confidence")
    assert [int(i) for i in by_conf[:2]] == [ids[0], ids[10]]  # confidence 0.0: tie by id


def test_a_negative_limit_is_refused(make_store):
    store, _ = project(make_store)
    with pytest.raises(ValueError, match="limit"):
        review_ids(store, limit=-1)
    with pytest.raises(ValueError, match="sort key"):
        review_ids(store, sort="colour")
