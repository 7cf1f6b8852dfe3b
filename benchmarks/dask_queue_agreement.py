"""Do the Dask and in-process retrains put the same samples at the top of the queue?

    python benchmarks/dask_queue_agreement.py [--rows 5000000] [--out FILE]

One synthetic tabular project (as ``dask_scoring.py`` builds it), four retrains in a row
through the product's path (``train_once``, margin, 500 queued): in process, in process
again, on ``dask-local:2``, in process again. Every pair's top 100 (same order?) and top 500
(shared share) is reported, with each retrain's model search (``search``). Consecutive
retrains are not the same model: a retrain either searches the model grid or re-validates
the previous winner (``labeler.learning.selection``), and the tail of a multi-million pool's
margin ranking moves with the smallest change of the model. The first retrain searches; the
next three re-validate its winner (Dask retrains too, since they record the same feature
key), so those three should agree with each other. Results:
``benchmarks/results/dask_queue_agreement.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import dask_scoring as ds  # noqa: E402

RUNS = (
    ("local_1", "local"),
    ("local_2", "local"),
    ("dask_3", "dask-local:2"),
    ("local_4", "local"),
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=5_000_000)
    p.add_argument("--workdir")
    p.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "dask_queue_agreement.json")
    )
    args = p.parse_args()
    folder = Path(args.workdir or tempfile.mkdtemp(prefix="labeler-queue-agree-")) / "pool"
    t0 = time.perf_counter()
    ds.ensure_built(folder, "tabular", args.rows)
    out: dict = {"rows": args.rows, "build_s": round(time.perf_counter() - t0, 1), "runs": {}}
    queues: dict[str, list[int]] = {}
    for name, mode in RUNS:
        doc = ds.run_child(folder, mode)
        queues[name] = doc["queue"]
        out["runs"][name] = {
            "mode": mode,
            "search": doc.get("search"),
            "wall_s": doc["wall_s"],
            "peak_mb": doc["peak_mb"],
        }
        print(f"{name} ({mode}, {doc.get('search')}): {doc['wall_s']} s", flush=True)
    names = list(queues)
    out["pairs"] = {
        f"{a} vs {b}": {
            "same_top_100": queues[a][:100] == queues[b][:100],
            "top_500_overlap": round(len(set(queues[a]) & set(queues[b])) / 500, 3),
        }
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }
    out["load_average_end"] = round(os.getloadavg()[0], 2)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out["pairs"], indent=2))


if __name__ == "__main__":
    main()
