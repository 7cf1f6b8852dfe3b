"""RetrainScheduler: coalescing, failures, a killed worker process, synchronous mode.

Determinism without sleeps: a retrain is held "running" either by blocking the scheduler's
``on_started`` callback (the scheduler thread cannot deliver the result meanwhile) or, to keep
the worker itself from finishing, by holding the SQLite write lock (the worker must wait for
it to record its run).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading

import pytest

from labeler.learning.jobs import RetrainResult, RetrainScheduler, TrainSettings
from tests.learning_data import add_tabular, blobs, label

WAIT = 120.0  # generous upper bounds; nothing waits this long unless broken


def project(make_store, labeled=30, n=90):
    X, y = blobs(n=n, n_classes=3, n_features=4, seed=7)
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    ids = add_tabular(store, X, [(y[i],) if i < labeled else None for i in range(n)])
    return store, ids, y


SMALL = TrainSettings(queue_size=10, cv_folds=2)


class Collector:
    def __init__(self) -> None:
        self.results: list[RetrainResult] = []
        self.got = threading.Event()
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.thread_ids: set[int] = set()

    def on_result(self, result: RetrainResult) -> None:
        self.thread_ids.add(threading.get_ident())
        self.results.append(result)
        self.got.set()

    def on_started(self) -> None:
        self.started.set()
        assert self.release.wait(WAIT)


def test_synchronous_mode_runs_in_the_callers_thread(make_store) -> None:
    store, _, _ = project(make_store)
    c = Collector()
    sched = RetrainScheduler(store.location, SMALL, on_result=c.on_result, synchronous=True)
    sched.request()
    assert len(c.results) == 1 and c.results[0].ok
    assert c.results[0].run.model_version == 1 and c.results[0].label_count == 30
    assert c.thread_ids == {threading.get_ident()}
    assert sched.wait_idle(0) and not sched.is_running
    sched.close()
    sched.request()  # ignored after close
    assert len(c.results) == 1


def test_synchronous_requests_from_a_callback_coalesce(make_store) -> None:
    store, _, _ = project(make_store)
    results: list[RetrainResult] = []
    sched: RetrainScheduler

    def on_result(result: RetrainResult) -> None:
        results.append(result)
        if len(results) == 1:
            for _ in range(3):
                sched.request()  # while "running": exactly one more retrain

    sched = RetrainScheduler(store.location, SMALL, on_result=on_result, synchronous=True)
    sched.request()
    assert [r.run.model_version for r in results] == [1, 2]


@pytest.mark.slow
def test_requests_during_a_retrain_schedule_exactly_one_more(make_store) -> None:
    store, ids, y = project(make_store)
    c = Collector()
    c.release.clear()
    with RetrainScheduler(
        store.location, SMALL, on_result=c.on_result, on_started=c.on_started
    ) as sched:
        sched.request()
        assert c.started.wait(WAIT)
        assert sched.is_running
        label(store, ids[30:36], [str(v) for v in y[30:36]])  # labels arrive meanwhile
        for _ in range(5):
            sched.request()
        c.release.set()
        assert sched.wait_idle(WAIT)
        assert len(c.results) == 2
        assert all(r.ok for r in c.results)
        assert [r.run.model_version for r in c.results] == [1, 2]
        assert c.results[1].label_count == 36  # the follow-up saw every label
        assert threading.get_ident() not in c.thread_ids  # callbacks come from the worker thread
        assert not sched.is_running


@pytest.mark.slow
def test_failed_retrain_is_reported_and_the_next_one_works(make_store) -> None:
    store, ids, y = project(make_store, labeled=0)
    label(store, ids[:4], ["c0"] * 4)
    c = Collector()
    with RetrainScheduler(store.location, SMALL, on_result=c.on_result) as sched:
        sched.request()
        assert sched.wait_idle(WAIT)
        (failed,) = c.results
        assert not failed.ok and "at least two classes" in failed.error
        assert failed.run is not None and failed.run.status == "failed"
        assert store.models.queue()[0].strategy == "cold-start"

        label(store, ids[4:12], [str(v) for v in y[4:12]])
        sched.request()
        assert sched.wait_idle(WAIT)
        assert c.results[-1].ok and c.results[-1].run.model_version == 1


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_killed_worker_is_a_failed_result_and_the_next_request_works(make_store) -> None:
    store, _, _ = project(make_store)
    ok_first = TrainSettings(queue_size=10, cv_folds=2)
    c = Collector()
    with RetrainScheduler(
        store.location, ok_first, on_result=c.on_result, on_started=c.on_started
    ) as sched:
        sched.request()
        assert sched.wait_idle(WAIT) and c.results[-1].ok
        before = store.dump()

        # Hold the write lock: the worker cannot record its run, so it is surely mid-retrain.
        lock = sqlite3.connect(store.location.db_path, timeout=WAIT)
        lock.execute("BEGIN IMMEDIATE")
        c.started.clear()
        sched.request()
        assert c.started.wait(WAIT)
        pid = sched.worker_pid
        assert pid is not None and pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        lock.rollback()
        lock.close()
        assert sched.wait_idle(WAIT)
        crashed = c.results[-1]
        assert not crashed.ok and "worker process crashed" in crashed.error
        assert crashed.run is not None and crashed.run.status == "failed"
        after = store.dump()
        assert after["queue_item"] == before["queue_item"]
        assert after["prediction"] == before["prediction"]

        sched.request()  # a fresh worker process takes over
        assert sched.wait_idle(WAIT)
        assert c.results[-1].ok and c.results[-1].run.model_version == 2
        assert sched.worker_pid is None


@pytest.mark.slow
def test_close_drops_pending_work_and_stops_the_worker(make_store) -> None:
    store, _, _ = project(make_store)
    c = Collector()
    sched = RetrainScheduler(store.location, SMALL, on_result=c.on_result)
    sched.request()
    assert sched.wait_idle(WAIT)
    thread = sched._thread
    sched.close()
    assert thread is not None and not thread.is_alive()
    sched.request()
    assert sched.wait_idle(0)
    assert len(c.results) == 1
    sched.close()  # idempotent


def test_settings_come_from_the_project_when_not_given(make_store) -> None:
    store, _, _ = project(make_store)
    store.update_settings(
        learning={"strategy": "entropy", "queue_size": 7, "features": {"image_size": 8}}
    )
    settings = TrainSettings.from_project(store)
    assert (settings.strategy, settings.queue_size, settings.features.image_size) == (
        "entropy",
        7,
        8,
    )
    c = Collector()
    RetrainScheduler(store.location, on_result=c.on_result, synchronous=True).request()
    assert c.results[0].ok
    queue = store.models.queue()
    assert len(queue) == 7 and queue[0].strategy == "entropy"


@pytest.mark.slow
def test_close_from_inside_the_result_callback(make_store) -> None:
    store, _, _ = project(make_store)
    results: list[RetrainResult] = []
    sched: RetrainScheduler

    def on_result(result: RetrainResult) -> None:
        results.append(result)
        sched.close()  # e.g. the window closes as the result arrives

    sched = RetrainScheduler(store.location, SMALL, on_result=on_result)
    sched.request()
    thread = sched._thread
    assert thread is not None
    thread.join(WAIT)
    assert not thread.is_alive()
    assert len(results) == 1 and results[0].ok
    assert sched._worker is None
