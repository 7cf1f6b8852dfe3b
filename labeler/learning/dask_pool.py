"""Running per-partition work on a Dask cluster: connecting, shipping, progress, cancel and
one-line failures.

A :class:`DaskPool` is opened for one retrain (``with DaskPool.open(compute, ...) as pool``).
``dask-local:N`` clusters are kept per process and reused by the next retrain (starting N
worker processes costs seconds); ``dask://HOST:PORT`` connects to a scheduler that must
answer within :data:`CONNECT_TIMEOUT_S`. Objects every task needs (the fitted pipeline, the
labeled ids) are scattered to the workers once per call of :meth:`DaskPool.map`.

Every failure (an unreachable scheduler, a dead worker, a task error, the time limit) becomes
a :class:`~labeler.learning.compute.ComputeError` whose one line names the scheduler; the
futures are cancelled, so the cluster stops the work. So does a cancel, and the end of the
process: a local cluster's workers watch the process that started them.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from labeler.learning.compute import Compute, ComputeError
from labeler.progress import CancelToken, ProgressFn, no_progress

CONNECT_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 5.0  # for the tasks that close what a retrain opened on the workers
DEFAULT_TIME_LIMIT_S = 3600.0
ALLOWED_FAILURES = 1
WORKER_MEMORY = "1.5GB"  # per local worker process: the partition size keeps it below that
_POLL_S = 0.2
_local_clusters: dict[str, Any] = {}
_watching: set[int] = set()  # in a worker process: the parents it watches
_lock = threading.Lock()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _watch_parent_plugin(pid: int) -> Any:
    """A worker plugin: the worker process ends when the process that started the local
    cluster is gone (a killed application must not leave Dask workers behind)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class WatchParent(WorkerPlugin):
        name = "labeler-watch-parent"

        def setup(self, worker: Any) -> None:
            from labeler.learning.dask_pool import watch_parent  # by reference, not pickled

            watch_parent(pid)

    return WatchParent()


def _close_stores_plugin() -> Any:
    """A worker plugin: a worker that ends closes the project stores its tasks opened."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class CloseStores(WorkerPlugin):
        name = "labeler-close-stores"
        idempotent = True  # registered by every retrain; the first registration stays

        def teardown(self, worker: Any) -> None:
            from labeler.learning.dask_tasks import close_stores  # by reference, not pickled

            close_stores()

    return CloseStores()


def watch_parent(pid: int) -> None:
    """In a Dask worker: end this process once ``pid`` is gone (one thread per pid, however
    often the plugin is registered)."""
    with _lock:
        if pid in _watching:
            return
        _watching.add(pid)
    threading.Thread(target=_watch, args=(pid,), name="labeler-orphan", daemon=True).start()


def _watch(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass
        time.sleep(0.5)


def _local_cluster(workers: int) -> Any:

    key = f"dask-local:{workers}"
    with _lock:
        cluster = _local_clusters.pop(key, None)
        if cluster is not None and cluster.status.name == "running":
            _local_clusters[key] = cluster
            return cluster
        if cluster is not None:  # a cluster that stopped (its scheduler failed): start anew
            with contextlib.suppress(Exception):
                cluster.close(timeout=5)
        import dask

        # a partition that kills two workers in a row (out of memory, say) fails the retrain
        # instead of taking down four: the scheduler's default allows three such deaths
        with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
            cluster = _start_local(workers)
        _local_clusters[key] = cluster
        return cluster


def _start_local(workers: int) -> Any:
    import multiprocessing

    from distributed import LocalCluster

    # The app's retrain worker is a daemonic process, and multiprocessing refuses to start
    # children from one. Its Dask workers are not left behind when it ends: each watches it
    # (_watch_parent_plugin), so the flag is lifted while they start.
    me = multiprocessing.current_process()
    daemonic = me.daemon
    if daemonic:
        me._config["daemon"] = False  # type: ignore[attr-defined]
    try:
        return _new_cluster(LocalCluster, workers)
    finally:
        if daemonic:
            me._config["daemon"] = True  # type: ignore[attr-defined]


def _new_cluster(LocalCluster: Any, workers: int) -> Any:  # noqa: N803
    import warnings

    # another Dask on this machine holds port 8787: its HTTP server moves to a free port
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=WORKER_MEMORY,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )


@atexit.register
def close_local_clusters() -> None:
    """Stop every local cluster this process started."""
    with _lock:
        clusters = list(_local_clusters.values())
        _local_clusters.clear()
    for cluster in clusters:
        with contextlib.suppress(Exception):  # shutting down: nothing left to report to
            cluster.close(timeout=5)


class DaskPool:
    """A client on the compute setting's cluster, for one retrain."""

    def __init__(self, compute: Compute, client: Any, where: str, time_limit_s: float) -> None:
        self.compute = compute
        self.client = client
        self.where = where
        self.time_limit_s = time_limit_s
        self.deadline = time.monotonic() + time_limit_s  # for the whole retrain, every pass
        self._closers: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    @classmethod
    @contextmanager
    def open(
        cls, compute: Compute, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S
    ) -> Iterator[DaskPool]:
        if not compute.uses_dask:
            raise ComputeError("compute 'local' runs in process: no Dask cluster to open")
        try:
            from distributed import Client
        except ImportError:
            raise ComputeError(
                f"compute {compute} needs Dask, which is not installed: pip install 'labeler[dask]'"
            ) from None

        logging.getLogger("distributed").setLevel(logging.ERROR)
        where = str(compute)
        try:
            if compute.kind == "dask-local":
                cluster = _local_cluster(compute.workers)
                client = Client(cluster, set_as_default=False, timeout=CONNECT_TIMEOUT_S)
                plugins = [_watch_parent_plugin(os.getpid()), _close_stores_plugin()]
                where = f"{compute} (scheduler {cluster.scheduler_address})"
            else:
                client = Client(compute.address, set_as_default=False, timeout=CONNECT_TIMEOUT_S)
                plugins = [_close_stores_plugin()]
                where = f"scheduler {compute.address}"
            try:
                for plugin in plugins:
                    client.register_plugin(plugin)
            except BaseException:
                client.close(timeout=5)
                raise
        except ComputeError:
            raise
        except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, CommClosedError...
            raise ComputeError(
                f"cannot reach Dask {_describe(compute)}: {_one_line(exc)}"
            ) from None
        pool = cls(compute, client, where, time_limit_s)
        try:
            yield pool
        finally:
            pool._run_at_close()
            with contextlib.suppress(Exception):  # the scheduler may be gone already
                client.close(timeout=5)

    def at_close(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on every worker when this pool closes (after a failure or a
        cancel too), e.g. to close what the retrain's tasks opened there."""
        self._closers.append((fn, args))

    def _run_at_close(self) -> None:
        for fn, args in self._closers:
            with contextlib.suppress(Exception):  # a cluster that is gone holds nothing open
                self.client.sync(
                    self.client._run, fn, *args, on_error="ignore", callback_timeout=CLOSE_TIMEOUT_S
                )
        self._closers.clear()

    def workers(self) -> int:
        try:
            return len(self.client.scheduler_info(n_workers=-1)["workers"])
        except Exception:  # noqa: BLE001
            return 0

    def map(
        self,
        fn: Callable[..., Any],
        items: Sequence[Any],
        *,
        shared: Any = None,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        what: str = "partition",
    ) -> list[Any]:
        """``[fn(shared, item) for item in items]`` on the cluster, results in item order.

        ``shared`` is scattered to the workers once (the fitted pipeline, for example)."""
        progress = progress or no_progress
        if not items:
            return []
        client = self.client
        futures: list[Any] = []
        try:
            shared_future = client.scatter(shared, broadcast=True, hash=False)
            futures = [
                client.submit(fn, shared_future, item, pure=False, retries=1) for item in items
            ]
            return self._gather(futures, progress, cancel, what)
        except ComputeError:
            self._cancel(futures)
            raise
        except BaseException as exc:
            self._cancel(futures)
            from labeler.errors import Cancelled

            if isinstance(exc, Cancelled | KeyboardInterrupt):
                raise
            raise ComputeError(f"Dask {self.where}: {_one_line(exc)}") from None

    def _gather(
        self,
        futures: list[Any],
        progress: ProgressFn,
        cancel: CancelToken | None,
        what: str,
    ) -> list[Any]:
        deadline = self.deadline
        total = len(futures)
        reported = -1
        while True:
            done = [f for f in futures if f.done()]
            pending = len(done) < len(futures)
            failed = [f for f in done if f.status == "error"]
            if failed:
                index = futures.index(failed[0])
                exc = failed[0].exception()
                raise ComputeError(
                    f"Dask {self.where}: {what} {index + 1} failed: {_one_line(exc)}"
                )
            lost = [f for f in done if f.status == "cancelled"]
            if lost:
                raise ComputeError(f"Dask {self.where}: the cluster dropped the work (cancelled)")
            if len(done) != reported:
                reported = len(done)
                progress(reported, total)
            if not pending:
                break
            if cancel is not None:
                cancel.check()
            if time.monotonic() >= deadline:
                raise ComputeError(
                    f"Dask {self.where}: no result within {self.time_limit_s:g} s "
                    f"({len(done)} of {total} {what}s done)"
                )
            time.sleep(_POLL_S)
        return [f.result() for f in futures]

    def _cancel(self, futures: list[Any]) -> None:
        if not futures:
            return
        with contextlib.suppress(Exception):  # the scheduler may be gone
            self.client.cancel(futures, force=True)


def _describe(compute: Compute) -> str:
    if compute.kind == "dask":
        return f"scheduler {compute.address}"
    return f"local cluster ({compute})"
