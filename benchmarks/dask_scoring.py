"""Dask benchmark: the same retrain in process and on ``dask-local:2``, on 2M and 10M
synthetic tabular rows and 1M short texts.

    python benchmarks/dask_scoring.py [--tabular 2000000,10000000] [--texts 1000000]
                                      [--workers 2] [--workdir DIR] [--out FILE]

Each retrain runs in a fresh child process through the product's path (``train_once`` with
``compute`` set), first cold (statistics and features computed), then warm (the feature
cache of the in-process path, the partition cache of the Dask path). Reported per pool and
mode: wall time, peak resident memory of the retrain process and, with Dask, of each worker
process (``VmHWM``), and whether the two modes put the same samples at the top of the queue.
From the peaks at two sizes, the largest pool each mode handles within 1.5 GB per process is
extrapolated (memory grows linearly with the pool in process; with Dask a worker holds one
partition, the retrain process 14 bytes a sample). Results: ``benchmarks/results/dask_scoring.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.engine import _rows_text, peak_rss_kb  # noqa: E402

N_FEATURES = 16
N_CLASSES = 5
N_LABELED = 2_000
LIMIT_MB = 1536
QUEUE = 500


def _rows_tabular(rng: np.random.Generator, W: np.ndarray, start: int, n: int):
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    y = (X @ W).argmax(axis=1)
    rows = []
    for i, x in enumerate(X):
        payload = json.dumps({f"f{j}": round(float(v), 4) for j, v in enumerate(x)})
        digest = hashlib.sha256(f"{start + i}:{payload}".encode()).hexdigest()
        rows.append((f"r{start + i}", digest, None, None, payload, None))
    return rows, [f"c{k}" for k in y]


def build(folder: Path, kind: str, n: int, seed: int = 0) -> float:
    from labeler.store import Store

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(N_FEATURES, N_CLASSES))
    store = Store.create(
        folder,
        modality="tabular" if kind == "tabular" else "text",
        labels=[f"c{k}" for k in range(N_CLASSES)],
    )
    with store.samples.bulk_import(f"bench-{kind}-{n}", f"{kind}{n}") as batch:
        for start in range(0, n, 50_000):
            size = min(50_000, n - start)
            if kind == "tabular":
                rows, y = _rows_tabular(rng, W, start, size)
            else:
                rows, y = _rows_text(rng, start, size)
            ids = batch.add_samples(rows)
            if start < N_LABELED:
                k = min(N_LABELED - start, size)
                batch.add_labels(ids[:k], [(lab,) for lab in y[:k]])
    store.close()
    return time.perf_counter() - t0


def child(folder: str, compute: str, workers_json: str) -> None:
    """One retrain in this fresh process; prints its figures as one JSON line."""
    from labeler.learning.settings import TrainSettings
    from labeler.learning.training import train_once
    from labeler.store import Store

    with Store.open(folder) as store:
        settings = TrainSettings.from_project(store).with_(
            strategy="margin", queue_size=QUEUE, cv_folds=3, compute=compute
        )
    t0 = time.perf_counter()
    run = train_once(folder, settings)
    wall = time.perf_counter() - t0
    if run.status != "ok":
        raise SystemExit(f"retrain failed: {run.error}")
    with Store.open(folder) as store:
        queue = [e.sample_id for e in store.models.queue()]
    worker_peaks: list[int] = []
    if compute != "local":
        from labeler.learning.dask_pool import _local_clusters

        for cluster in _local_clusters.values():
            from distributed import Client

            with Client(cluster, set_as_default=False) as client:
                peaks = client.run(peak_rss_kb)
            worker_peaks = sorted(int(v) // 1024 for v in peaks.values())
    Path(workers_json).write_text(
        json.dumps(
            {
                "wall_s": round(wall, 2),
                "peak_mb": peak_rss_kb() // 1024,
                "worker_peak_mb": worker_peaks,
                "durations": run.durations,
                "queue": queue,
            }
        )
    )


def run_child(folder: Path, compute: str) -> dict:
    out = folder.parent / f"child-{os.getpid()}-{time.time_ns()}.json"
    subprocess.run(
        [sys.executable, __file__, "--child", str(folder), compute, str(out)],
        check=True,
        cwd=ROOT,
    )
    doc = json.loads(out.read_text())
    out.unlink()
    return doc


def bench_pool(workdir: Path, kind: str, n: int, dask: str, log) -> dict:
    folder = workdir / f"{kind}-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    log(f"{kind} {n:,}: building")
    built = build(folder, kind, n)
    entry: dict = {"kind": kind, "rows": n, "build_s": round(built, 1)}
    for mode in ("local", dask):
        cold = run_child(folder, mode)
        warm = run_child(folder, mode)
        log(
            f"{kind} {n:,} {mode}: cold {cold['wall_s']} s, warm {warm['wall_s']} s, "
            f"peak {max(cold['peak_mb'], warm['peak_mb'])} MB, workers {cold['worker_peak_mb']}"
        )
        entry[mode] = {
            "cold_s": cold["wall_s"],
            "warm_s": warm["wall_s"],
            "peak_mb": max(cold["peak_mb"], warm["peak_mb"]),
            "worker_peak_mb": max(cold["worker_peak_mb"] + warm["worker_peak_mb"], default=None),
            "warm_durations": warm["durations"],
            "queue": warm["queue"],
        }
    a, b = entry["local"].pop("queue"), entry[dask].pop("queue")
    entry["same_top_100"] = a[:100] == b[:100]
    entry["top_500_overlap"] = len(set(a) & set(b)) / max(1, len(a))
    entry["warm_ratio_dask_over_local"] = round(entry[dask]["warm_s"] / entry["local"]["warm_s"], 2)
    shutil.rmtree(folder, ignore_errors=True)
    return entry


def extrapolate(entries: list[dict], mode: str, key: str) -> int | None:
    """The pool size at which ``key`` (MB) reaches the limit, linear in the pool size."""
    pts = sorted((e["rows"], e[mode][key]) for e in entries if e[mode].get(key))
    if len(pts) < 2:
        return None
    (n1, m1), (n2, m2) = pts[0], pts[-1]
    slope = (m2 - m1) / (n2 - n1)
    if slope <= 0:
        return None  # flat: bounded by the partition, not the pool
    return int(n2 + (LIMIT_MB - m2) / slope)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tabular", default="2000000,10000000")
    p.add_argument("--texts", default="1000000")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--workdir")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dask_scoring.json"))
    args = p.parse_args(argv)
    dask = f"dask-local:{args.workers}"
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="labeler-dask-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    def log(msg: str) -> None:
        print(f"[{time.time() - t_start:7.1f} s] {msg}", file=sys.stderr, flush=True)

    doc: dict = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "dask": dask,
        "features": N_FEATURES,
        "limit_mb": LIMIT_MB,
        "tabular": [],
        "text": [],
    }

    def save() -> None:
        Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")

    tabular = sorted(int(v) for v in args.tabular.split(",") if v)
    texts = [int(v) for v in args.texts.split(",") if v]
    # the largest tabular pool last: it takes longest, and a stopped run keeps the rest
    for kind, n in (
        [("tabular", n) for n in tabular[:-1]]
        + [("text", n) for n in texts]
        + [("tabular", n) for n in tabular[-1:]]
    ):
        doc[kind].append(bench_pool(workdir, kind, n, dask, log))
        save()
    doc["largest_tabular_pool_within_limit"] = {
        "local": extrapolate(doc["tabular"], "local", "peak_mb"),
        "dask_retrain_process": extrapolate(doc["tabular"], dask, "peak_mb"),
        "dask_worker": extrapolate(doc["tabular"], dask, "worker_peak_mb"),
    }
    save()
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        sys.exit(main())
