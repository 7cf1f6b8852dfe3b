"""Predict benchmark: ``labeler predict`` on 1M tabular rows and 100k texts, against the
baseline of the same pipeline's ``predict_proba`` on the whole file held in memory.

    python benchmarks/predict.py [--tabular-rows 1000000] [--text-rows 100000]
                                 [--workdir DIR] [--out FILE]

Per modality: a project is built and trained by the product's own code (``train_once``: a
tabular project of 20k rows with 2,000 labels; a text project of 5k texts with 1,000 labels
and the default text features), then a file of new raw rows is scored

* by ``labeler predict PROJECT FILE --out OUT.parquet`` (streamed in chunks, rows checked,
  results written), and
* by the baseline: the file read whole into a DataFrame and the loaded pipeline's
  ``predict_proba`` called once (no checks, nothing written).

Each runs in a fresh child process, so its peak resident memory (``VmHWM``) is the whole
job's: interpreter, imports, model, data. ``seconds`` and ``rows_per_s`` time the scoring
(file read to results written); ``load_seconds`` the model's loading before it. Both run in the same invocation, alternating, so the
machine's load hits them alike; the ratio is the figure to read. Results go to
``benchmarks/results/predict.json``.
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
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_FEATURES = 16
N_CLASSES = 4
WORDS = [
    ["goal", "match", "team", "coach", "league", "score", "season", "player", "win", "cup"],
    ["bread", "soup", "spice", "dinner", "recipe", "salt", "bake", "fresh", "taste", "oven"],
    ["vote", "party", "law", "senate", "minister", "debate", "policy", "tax", "court", "poll"],
    ["code", "bug", "server", "deploy", "python", "test", "cloud", "api", "data", "build"],
]
COMMON = ["the", "a", "of", "and", "to", "in", "is", "it", "for", "on", "with", "today", "new"]


def _tabular(rng: np.random.Generator, W: np.ndarray, n: int) -> tuple[pd.DataFrame, list[str]]:
    X = rng.normal(size=(n, N_FEATURES))
    y = (X @ W).argmax(axis=1)
    frame = pd.DataFrame(X.round(5), columns=[f"f{j}" for j in range(N_FEATURES)])
    frame["kind"] = np.asarray(["a", "b", "c"])[rng.integers(3, size=n)]
    return frame, [f"c{k}" for k in y]


def _texts(rng: np.random.Generator, n: int, start: int = 0) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for i in range(n):
        k = int(rng.integers(N_CLASSES))
        words = [*rng.choice(WORDS[k], size=3), *rng.choice(COMMON, size=5)]
        rng.shuffle(words)
        texts.append(" ".join(words) + f" #{start + i}")
        labels.append(f"c{k}")
    return texts, labels


def _project(kind: str, folder: Path, rng: np.random.Generator) -> None:
    """Create, import and train a project through the product's own code."""
    from labeler.data.importer import import_file
    from labeler.learning.training import train_once
    from labeler.store import Store

    labels = [f"c{k}" for k in range(N_CLASSES)]
    store = Store.create(folder, modality=kind, labels=labels)
    src = folder.parent / f"{kind}-train.csv"
    if kind == "tabular":
        frame, y = _tabular(rng, _W, 20_000)
        frame["label"] = [v if i < 2_000 else None for i, v in enumerate(y)]
    else:
        texts, y = _texts(rng, 5_000)
        frame = pd.DataFrame(
            {"text": texts, "label": [v if i < 1_000 else None for i, v in enumerate(y)]}
        )
    frame.insert(0, "id", [f"t{i}" for i in range(len(frame))])
    frame.to_csv(src, index=False)
    import_file(store, src)
    store.close()
    run = train_once(folder)
    assert run.status == "ok", run.error


_W = np.random.default_rng(7).normal(size=(N_FEATURES, N_CLASSES))


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, project: str, data: str, out: str) -> None:
    """One measured job in this (fresh) process; prints its figures as JSON. The model is
    loaded first (resolved, SHA-256 checked, skops-loaded), timed on its own; then the file
    is scored."""
    from labeler.registry.model_ref import load_model_ref

    t0 = time.perf_counter()
    model = load_model_ref(project)
    loaded = time.perf_counter()
    if mode == "predict":
        from labeler.registry.predict import predict_file

        rows = predict_file(model, data, out).rows  # what `labeler predict` runs
    else:
        frame = pd.read_parquet(data)
        if "text" in frame.columns:
            frame = frame[["text"]]
        rows = model.pipeline.predict_proba(frame).shape[0]
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "rows": rows,
                "load_seconds": loaded - t0,
                "seconds": done - loaded,
                "peak_mb": _peak_mb(),
            }
        )
    )


def _measure(mode: str, project: Path, data: Path, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(project), str(data), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed: {proc.stderr[-2000:]}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    got["rows_per_s"] = round(got["rows"] / got["seconds"], 1)
    got["seconds"] = round(got["seconds"], 2)
    got["load_seconds"] = round(got["load_seconds"], 2)
    got["peak_mb"] = round(got["peak_mb"], 1)
    return got


def bench(kind: str, n: int, work: Path, rng: np.random.Generator) -> dict:
    project = work / f"{kind}-project"
    t0 = time.perf_counter()
    _project(kind, project, rng)
    train_s = time.perf_counter() - t0
    data = work / f"{kind}-{n}.parquet"
    if kind == "tabular":
        frame, _ = _tabular(rng, _W, n)
    else:
        texts, _ = _texts(rng, n, start=10_000)
        frame = pd.DataFrame({"text": texts})
    frame.insert(0, "id", [f"n{i}" for i in range(n)])
    frame.to_parquet(data, index=False)
    del frame
    ours = _measure("predict", project, data, work / f"{kind}-out.parquet")
    base = _measure("baseline", project, data, work / "unused")
    return {
        "rows": n,
        "train_seconds": round(train_s, 1),
        "predict": ours,
        "baseline_predict_proba_in_memory": base,
        "time_ratio": round(ours["seconds"] / base["seconds"], 2),
        "peak_memory_ratio": round(ours["peak_mb"] / base["peak_mb"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabular-rows", type=int, default=1_000_000)
    parser.add_argument("--text-rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "predict.json"
    )
    parser.add_argument("--child", nargs=4, metavar=("MODE", "PROJECT", "DATA", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="labeler-bench-predict-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    try:
        results = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "tabular": bench("tabular", args.tabular_rows, work, rng),
            "text": bench("text", args.text_rows, work, rng),
        }
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
