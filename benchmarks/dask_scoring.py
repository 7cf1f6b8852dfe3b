"""Dask benchmark: the same retrain in process and on ``dask-local:2``, on 2M and 10M
synthetic tabular rows and 500k and 1M short texts.

    python benchmarks/dask_scoring.py [--tabular 2000000,10000000] [--texts 500000,1000000]
                                      [--workers 2] [--verify-max ROWS] [--resume]
                                      [--workdir DIR] [--out FILE] [--build-only KIND:ROWS]

Each retrain runs in a fresh child process through the product's path (``train_once`` with
``compute`` set), first cold (statistics and features computed), then warm (the feature
cache of the in-process path, the partition cache of the Dask path). Reported per pool and
mode: wall time, peak resident memory of the retrain process and, with Dask, of each worker
process (``VmHWM``), whether the two modes put the same samples at the top of the queue, and
the load average before and after (other work on the machine stretches the timings).

The largest pool each mode handles within 1.5 GB per process (``limits``): per kind of pool
and process, a least-squares line of peak memory against pool size through every measured
pool, and the pool at which it reaches 1.5 GB (none when the peak does not grow with the
pool, as for a Dask worker, which holds one partition). Each predicted limit up to
``--verify-max`` rows is then measured: a pool of that size is built and retrained in that
mode (``verify``). ``--resume`` keeps the pools already in ``--out`` and adds the others;
``--build-only`` builds a pool's project ahead (outside the timed runs) for a later run in
the same ``--workdir``. Results: ``benchmarks/results/dask_scoring.json``.
"""

from __future__ import annotations

import argparse
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
from benchmarks.synthetic_projects import build_pool, tabular_rows  # noqa: E402

N_FEATURES = 16
N_CLASSES = 5
N_LABELED = 2_000
LIMIT_MB = 1536
QUEUE = 500


def build(folder: Path, kind: str, n: int, seed: int = 0) -> float:
    """A project of ``n`` samples (tabular: N_FEATURES columns), the first N_LABELED labeled.
    Returns the seconds taken."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(N_FEATURES, N_CLASSES))

    def make_rows(start: int, size: int):
        if kind == "tabular":
            return tabular_rows(rng, W, start, size)
        return _rows_text(rng, start, size)

    return build_pool(folder, kind, n, make_rows, n_classes=N_CLASSES, n_labeled=N_LABELED)


def ensure_built(folder: Path, kind: str, n: int) -> float:
    """The project in ``folder``, built unless a finished build of the same pool is there
    (``--build-only`` builds ahead, outside the timed runs). Returns the build's seconds."""
    marker = folder / "built.json"
    if marker.is_file():
        done = json.loads(marker.read_text())
        if done.get("kind") == kind and done.get("rows") == n:
            return float(done["build_s"])
    shutil.rmtree(folder, ignore_errors=True)
    seconds = build(folder, kind, n)
    marker.write_text(json.dumps({"kind": kind, "rows": n, "build_s": round(seconds, 1)}))
    return seconds


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
                # "grid" (a full model search) or "previous winner" (re-validated)
                "search": (run.params.get("selection") or {}).get("search", {}).get("mode"),
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


def load() -> float:
    """The one-minute load average (other work on the machine slows the timings)."""
    return round(os.getloadavg()[0], 2)


def run_mode(folder: Path, mode: str) -> dict:
    """A cold then a warm retrain of the project in ``mode``."""
    before = load()
    cold = run_child(folder, mode)
    warm = run_child(folder, mode)
    return {
        "cold_s": cold["wall_s"],
        "warm_s": warm["wall_s"],
        "peak_mb": max(cold["peak_mb"], warm["peak_mb"]),
        "worker_peak_mb": max(cold["worker_peak_mb"] + warm["worker_peak_mb"], default=None),
        "warm_durations": warm["durations"],
        "load_before_after": [before, load()],
        "queue": warm["queue"],
    }


def bench_pool(workdir: Path, kind: str, n: int, modes: list[str], log) -> dict:
    """Retrains of an ``n``-sample pool in each of ``modes``; with two modes, how alike
    their queues are."""
    folder = workdir / f"{kind}-{n}"
    log(f"{kind} {n:,}: building")
    built = ensure_built(folder, kind, n)
    entry: dict = {"kind": kind, "rows": n, "build_s": round(built, 1)}
    for mode in modes:
        entry[mode] = run_mode(folder, mode)
        log(
            f"{kind} {n:,} {mode}: cold {entry[mode]['cold_s']} s, warm {entry[mode]['warm_s']} s,"
            f" peak {entry[mode]['peak_mb']} MB, workers {entry[mode]['worker_peak_mb']} MB"
        )
    queues = [entry[mode].pop("queue") for mode in modes]
    if len(modes) == 2:
        a, b = queues
        entry["same_top_100"] = a[:100] == b[:100]
        entry["top_500_overlap"] = len(set(a) & set(b)) / max(1, len(a))
        entry["warm_ratio_dask_over_local"] = round(
            entry[modes[1]]["warm_s"] / entry["local"]["warm_s"], 2
        )
    shutil.rmtree(folder, ignore_errors=True)
    return entry


def fit_limit(entries: list[dict], mode: str, key: str) -> dict | None:
    """Peak memory (MB) against pool size, a least-squares line through every measured pool,
    and the pool at which the line reaches the limit (None when it does not grow with the
    pool: a Dask worker holds one partition). Also the largest measured pool within the limit
    and the smallest measured over it."""
    pts = sorted((e["rows"], e[mode][key]) for e in entries if e.get(mode, {}).get(key))
    if not pts:
        return None
    rows = np.array([r for r, _ in pts], dtype=float)
    mb = np.array([m for _, m in pts], dtype=float)
    out: dict = {"points": [[int(r), int(m)] for r, m in pts]}
    within = [int(r) for r, m in pts if m <= LIMIT_MB]
    over = [int(r) for r, m in pts if m > LIMIT_MB]
    out["largest_measured_within"] = max(within, default=None)
    out["smallest_measured_over"] = min(over, default=None)
    if len(pts) < 2:
        return out
    slope, intercept = np.polyfit(rows, mb, 1)
    out["mb_at_zero"] = round(float(intercept), 1)
    out["bytes_per_row"] = round(float(slope) * 2**20, 1)
    # under 1 byte a row is noise: the process is bounded by something else than the pool
    grows = slope * 2**20 >= 1.0
    out["predicted_limit_rows"] = int((LIMIT_MB - intercept) / slope) if grows else None
    return out


def limits(doc: dict, dask: str) -> dict:
    processes = {
        "in_process": ("local", "peak_mb"),
        "dask_retrain_process": (dask, "peak_mb"),
        "dask_worker": (dask, "worker_peak_mb"),
    }
    out: dict = {}
    for kind in ("tabular", "text"):
        entries = doc[kind] + doc.get("verify", {}).get(kind, [])
        out[kind] = {name: fit_limit(entries, *how) for name, how in processes.items()}
    return out


def verify_sizes(doc: dict, dask: str, largest: int) -> list[tuple[str, int, str]]:
    """(kind, rows, mode): a pool at the predicted limit of each mode whose limit is within
    ``largest`` rows and not already bracketed by two measured pools 10 % apart."""
    todo = []
    for kind, by_process in limits(doc, dask).items():
        for name, mode in (("in_process", "local"), ("dask_retrain_process", dask)):
            fit = by_process.get(name) or {}
            n = fit.get("predicted_limit_rows")
            if not n or n > largest:
                continue
            lo, hi = fit["largest_measured_within"], fit["smallest_measured_over"]
            if lo and hi and hi <= 1.1 * lo:
                continue
            if any(mode in e for e in doc.get("verify", {}).get(kind, [])):
                continue  # verified by an earlier run (--resume)
            todo.append((kind, int(round(n, -4)), mode))
    return todo


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tabular", default="2000000,10000000")
    p.add_argument("--texts", default="500000,1000000")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--modes", default="local,dask", help="local,dask (default), local or dask")
    p.add_argument(
        "--verify-max",
        type=int,
        default=12_000_000,
        help="run a pool at each predicted limit up to this many rows (0: none)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the pools already in --out (same mode) and add the others",
    )
    p.add_argument("--workdir")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dask_scoring.json"))
    p.add_argument(
        "--build-only",
        metavar="KIND:ROWS",
        help="only build this pool's project in the workdir (reused by a later run)",
    )
    args = p.parse_args(argv)
    dask = f"dask-local:{args.workers}"
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="labeler-dask-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    if args.build_only:
        kind, rows = args.build_only.split(":")
        folder = workdir / f"{kind}-{int(rows)}"
        print(f"built {folder} in {ensure_built(folder, kind, int(rows)):.0f} s", file=sys.stderr)
        return 0

    def log(msg: str) -> None:
        print(f"[{time.time() - t_start:7.1f} s] {msg}", file=sys.stderr, flush=True)

    doc: dict = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "conditions": {"load_at_start": load()},
        "dask": dask,
        "features": N_FEATURES,
        "labeled": N_LABELED,
        "limit_mb": LIMIT_MB,
        "tabular": [],
        "text": [],
        "verify": {"tabular": [], "text": []},
    }

    if args.resume and Path(args.out).is_file():
        earlier = json.loads(Path(args.out).read_text())
        if earlier.get("dask") == dask and earlier.get("features") == N_FEATURES:
            for key in ("tabular", "text", "verify"):
                doc[key] = earlier.get(key, doc[key])
            doc["conditions"]["earlier_runs"] = earlier.get("conditions")

    def save() -> None:
        doc["conditions"]["load_at_end"] = load()
        doc["limits"] = limits(doc, dask)
        Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")

    tabular = sorted(int(v) for v in args.tabular.split(",") if v)
    texts = sorted(int(v) for v in args.texts.split(",") if v)
    # the largest tabular pool last: it takes longest, and a stopped run keeps the rest
    for kind, n in (
        [("text", n) for n in texts]
        + [("tabular", n) for n in tabular[:-1]]
        + [("tabular", n) for n in tabular[-1:]]
    ):
        if any(e["rows"] == n for e in doc[kind]):
            continue  # measured by an earlier run (--resume)
        modes = [dask if m == "dask" else m for m in args.modes.split(",")]
        doc[kind].append(bench_pool(workdir, kind, n, modes, log))
        save()
    for kind, n, mode in verify_sizes(doc, dask, args.verify_max):
        log(f"{kind} {n:,} {mode}: at the predicted limit")
        doc["verify"][kind].append(bench_pool(workdir, kind, n, [mode], log))
        save()
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        sys.exit(main())
