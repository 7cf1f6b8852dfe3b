"""One trainer per project: retrains of several team members on one project at once.

Each member is a real retrain path (``train_once`` in its own thread with its own store
connection, as each app's worker process does; or a ``RetrainScheduler`` per app) on one
SQLite file or one PostgreSQL project.
"""

from __future__ import annotations

import threading

from labeler.learning.jobs import RetrainResult, RetrainScheduler, TrainSettings
from labeler.learning.training import train_once
from labeler.store import Store
from tests.learning_data import add_tabular, blobs

SMALL = TrainSettings(queue_size=10, cv_folds=2)
WAIT = 120.0


def project(make_store, labeled: int = 45, n: int = 120) -> tuple[Store, list[int]]:
    X, y = blobs(n=n, n_classes=3, n_features=4, seed=3)
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    ids = add_tabular(store, X, [(y[i],) if i < labeled else None for i in range(n)])
    return store, ids


def run_at_once(n: int, fn) -> list:  # type: ignore[no-untyped-def]
    """Call ``fn()`` in ``n`` threads released together; their results (or exceptions)."""
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def work(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fn()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            out[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for i, th in enumerate(threads):
        th.index = i  # type: ignore[attr-defined]
    for th in threads:
        th.start()
    for th in threads:
        th.join(WAIT)
    return out


def test_concurrent_retrains_get_distinct_versions_and_files(make_store) -> None:
    store, _ = project(make_store)
    runs = run_at_once(4, lambda: train_once(store.location, SMALL))
    assert not [r for r in runs if isinstance(r, Exception)], runs
    errors = [r.error for r in runs if r.status != "ok"]
    assert errors == []  # e.g. no UniqueViolation on queue_item_pkey
    versions = [r.model_version for r in runs]
    assert sorted(versions) == [1, 2, 3, 4]
    artifacts = [store.artifacts_dir / r.artifact for r in runs]  # relative to the project
    assert len(set(artifacts)) == 4
    assert all(p.is_file() for p in artifacts)  # no run deleted or overwrote another's model
    queue = store.models.queue()
    assert len(queue) == 10 and {e.model_version for e in queue} == {4}  # the newest ranking


def test_retrains_of_several_members_run_one_at_a_time(make_store) -> None:
    """Three apps ask for a retrain at once: one trains, the others' requests are noted in
    the store and coalesce into exactly one more retrain by the same trainer."""
    store, _ = project(make_store)
    results: dict[str, list[RetrainResult]] = {n: [] for n in ("ann", "bob", "cyd")}
    schedulers = []
    for name in results:
        sched = RetrainScheduler(
            store.location, SMALL, on_result=results[name].append, synchronous=True
        )
        sched.trainer = name
        schedulers.append(sched)
    run_at_once(3, lambda: schedulers[threading.current_thread().index].request())  # type: ignore[attr-defined]
    runs = store.models.runs()
    assert [r.status for r in runs] == ["ok"] * len(runs)
    spans = sorted((r.started_at, r.finished_at) for r in runs)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # never two at once
    trainers = {r.params["trainer"] for r in runs}
    assert len(trainers) == 1  # one trainer per project
    (holder,) = trainers
    deferred = [r for n, rs in results.items() for r in rs if r.deferred_to]
    assert all(r.deferred_to == holder for r in deferred)
    assert all(not rs or all(r.deferred_to for r in rs) for n, rs in results.items() if n != holder)
    # the holder ran once, plus exactly once more if anyone asked meanwhile
    assert len(runs) == (2 if deferred else 1)
    assert [r.model_version for r in runs] == list(range(1, len(runs) + 1))
    assert store.models.versions.get(len(runs)).trainer == holder
