"""Import speed: a generated 1M-row, 10-column CSV imported into a tabular project, against a
raw ``sqlite3`` executemany of the same rows (read with the csv module) in the same run.

The clock covers the import itself (``import_file`` and closing the store) and, for the raw
side, connecting, reading and inserting. Loading Labeler's modules and creating the empty
project happen before the clock starts (``seconds_with_setup`` records them too): they are
paid once per process, not per row.

Each measurement runs in a fresh child process (so peak RSS is that of one import), the two
alternate, and the medians are compared. Writes ``benchmarks/results/import_speed.json``.

    python benchmarks/import_speed.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def make_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, 8)).round(6), columns=[f"f{i}" for i in range(8)])
    frame.insert(0, "id", [f"r{i}" for i in range(rows)])
    frame["color"] = rng.choice(["red", "green", "blue", "teal"], size=rows)
    frame.to_csv(path, index=False)


def setup_labeler(csv_path: Path, work: Path) -> Callable[[], None]:
    """Load the modules and create the project (not timed); return the timed import."""
    from labeler.data.importer import import_file
    from labeler.store import Store

    store = Store.create(work / "proj", modality="tabular", labels=["a", "b"])

    def run() -> None:
        report = import_file(store, csv_path)
        assert report.added > 0
        store.close()

    return run


def setup_raw(csv_path: Path, work: Path) -> Callable[[], None]:
    def run() -> None:
        import csv
        import sqlite3

        conn = sqlite3.connect(work / "raw.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        with csv_path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            cols = ", ".join(f'"{c}"' for c in header)
            conn.execute(f"CREATE TABLE rows ({cols})")
            conn.execute("BEGIN")
            marks = ", ".join("?" for _ in header)
            conn.executemany(f"INSERT INTO rows VALUES ({marks})", reader)
            conn.execute("COMMIT")
        conn.close()

    return run


def child(mode: str, csv_path: str) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
    setup_start = time.perf_counter()
    run = (setup_labeler if mode == "labeler" else setup_raw)(Path(csv_path), work)
    start = time.perf_counter()
    run()
    end = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the importer may parse in a child process: count its peak too (an upper bound: sum)
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": end - start,
                "seconds_with_setup": end - setup_start,
                "peak_rss_mb": peak_mb + child_mb,
                "parser_process_peak_mb": child_mb,
            }
        )
    )
    shutil.rmtree(work, ignore_errors=True)


def measure(mode: str, csv_path: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(csv_path)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "CSV"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "rows.csv"
        make_csv(csv_path, args.rows)
        runs: dict[str, list[dict[str, float]]] = {"labeler": [], "raw_sqlite3": []}
        for _ in range(args.repeats):
            runs["raw_sqlite3"].append(measure("raw", csv_path))
            runs["labeler"].append(measure("labeler", csv_path))
            print(f"raw {runs['raw_sqlite3'][-1]}  labeler {runs['labeler'][-1]}", file=sys.stderr)
        ours = statistics.median(r["seconds"] for r in runs["labeler"])
        raw = statistics.median(r["seconds"] for r in runs["raw_sqlite3"])
        result = {
            "benchmark": "import_speed",
            "rows": args.rows,
            "columns": 10,
            "file_mb": round(csv_path.stat().st_size / 1e6, 1),
            "repeats": args.repeats,
            "labeler_median_s": round(ours, 3),
            "raw_sqlite3_median_s": round(raw, 3),
            "labeler_rows_per_s": round(args.rows / ours),
            "raw_sqlite3_rows_per_s": round(args.rows / raw),
            "ratio_raw_time_over_labeler_time": round(raw / ours, 3),
            "goal_ratio": 0.5,
            "labeler_median_with_setup_s": round(
                statistics.median(r["seconds_with_setup"] for r in runs["labeler"]), 3
            ),
            "labeler_peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs["labeler"]), 1),
            "raw_sqlite3_peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs["raw_sqlite3"]), 1),
            "runs": runs,
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "import_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("runs", "machine")}, indent=2))


if __name__ == "__main__":
    main()
