"""Engine benchmark: retrain + rescore at 10k/100k/1M tabular rows and 100k short texts,
batch-diverse selection from a 1M pool against modAL's ranked batch on 20k, and the peak
memory of a whole retrain job at 1M rows.

    python benchmarks/engine.py [--sizes 10000,100000,1000000] [--text-sizes 100000]
                                [--baseline SRC] [--workdir DIR] [--out FILE]

``--baseline SRC`` names another source tree of Labeler (e.g. ``git archive main`` unpacked):
every project is then also retrained by that code, its warm retrains alternating with ours,
and each entry reports both and their ratio (the machine's load hits both alike).
Text projects are retrained with each of ``--text-choices`` (default: the project default).

Each retrain runs in a fresh child process (``--child``) so its peak resident memory
(``VmHWM``) is the whole job's: interpreter, imports, features, fit, scoring, writing.
Per project the first retrain builds the feature cache; then three more (warm) retrains, what
an annotator waits for on every later retrain, of which the median is reported. Results go to ``benchmarks/results/engine.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import synthetic_projects  # noqa: E402

N_FEATURES = 64
N_CLASSES = 5
N_LABELED = 2_000
GOAL_BATCH_S = 5.0
GOAL_PEAK_MB = 1536
REPEATS = 3  # warm retrains per project (``--repeats``); the median is reported


def _rows_tabular(rng: np.random.Generator, W: np.ndarray, start: int, n: int):
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    y = (X @ W).argmax(axis=1)
    rows = []
    for i, x in enumerate(X):
        payload = json.dumps({f"f{j}": round(float(v), 5) for j, v in enumerate(x)})
        digest = hashlib.sha256(payload.encode()).hexdigest()
        rows.append((f"r{start + i}", digest, None, None, payload, None))
    return rows, [f"c{k}" for k in y]


WORDS = [
    ["goal", "match", "team", "coach", "league", "score", "season", "player", "win", "cup"],
    ["bread", "soup", "spice", "dinner", "recipe", "salt", "bake", "fresh", "taste", "oven"],
    ["vote", "party", "law", "senate", "minister", "debate", "policy", "tax", "court", "poll"],
    ["code", "bug", "server", "deploy", "python", "test", "cloud", "api", "data", "build"],
    ["movie", "actor", "scene", "drama", "film", "stage", "music", "album", "song", "show"],
]
COMMON = ["the", "a", "of", "and", "to", "in", "is", "it", "for", "on", "with", "today", "new"]


def _rows_text(rng: np.random.Generator, start: int, n: int):
    rows, labels = [], []
    for i in range(n):
        k = int(rng.integers(N_CLASSES))
        own = rng.choice(WORDS[k], size=3)
        other = rng.choice(WORDS[int(rng.integers(N_CLASSES))], size=2)
        filler = rng.choice(COMMON, size=5)
        words = [*own, *other, *filler]
        rng.shuffle(words)
        text = " ".join(words) + f" #{start + i}"
        rows.append(
            (f"t{start + i}", hashlib.sha256(text.encode()).hexdigest(), text, None, None, None)
        )
        labels.append(f"c{k}")
    return rows, labels


def build_project(folder: Path, kind: str, n: int, seed: int = 0) -> float:
    """A project of ``n`` samples, the first N_LABELED labeled. Returns seconds taken."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(N_FEATURES, N_CLASSES))

    def make_rows(start: int, size: int):
        if kind == "tabular":
            return _rows_tabular(rng, W, start, size)
        return _rows_text(rng, start, size)

    return synthetic_projects.build_pool(
        folder, kind, n, make_rows, n_classes=N_CLASSES, n_labeled=N_LABELED
    )


def peak_rss_kb() -> int:
    """This process's peak resident memory. Linux: VmHWM, which (unlike ru_maxrss) is not
    inherited from the parent across fork + exec."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_train(folder: str, strategy: str, text_features: str | None = None) -> None:
    """Run one retrain in this (fresh) process and print its figures as JSON."""
    from labeler.learning.settings import TrainSettings
    from labeler.learning.training import train_once

    settings = TrainSettings(strategy=strategy, queue_size=500, cv_folds=5)
    if text_features:
        from labeler.learning.featureset import FeatureSettings

        settings = settings.with_(features=FeatureSettings(text_features=text_features))
    t0 = time.perf_counter()
    run = train_once(folder, settings)
    wall = time.perf_counter() - t0
    peak_kb = peak_rss_kb()
    pool = None  # the whole-pool predictions the run recorded (code that records them)
    from labeler.store import Store

    with Store.open(folder) as store:
        if hasattr(store.models, "pool_predictions"):
            recorded = store.models.pool_predictions()
            pool = None if recorded is None else len(recorded)
    print(
        json.dumps(
            {
                "status": run.status,
                "error": run.error,
                "wall_s": round(wall, 3),
                "durations_s": run.durations,
                "accuracy": run.metrics.get("accuracy"),
                "macro_f1": run.metrics.get("macro_f1"),
                "chosen": run.params.get("chosen"),
                # "grid" (the full model search) or "previous winner" (re-validated)
                "search": (run.params.get("selection") or {}).get("search", {}).get("mode"),
                "brier": run.metrics.get("brier"),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "pool_predictions": pool,
            }
        )
    )


def run_child(
    folder: Path, strategy: str = "margin", code: Path | None = None, text: str | None = None
) -> dict:
    cmd = [sys.executable, __file__, "--child", str(folder), "--strategy", strategy]
    if code is not None:
        cmd += ["--code", str(code)]
    if text:
        cmd += ["--text-features", text]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    mid = runs[int(np.argsort(walls)[len(walls) // 2])]
    return {**mid, "median_wall_s": float(np.median(walls)), "all_wall_s": walls}


def bench_retrain(
    workdir: Path,
    kind: str,
    n: int,
    log,
    baseline: Path | None,
    choices: list[str | None],
    repeats: int = REPEATS,
) -> dict:
    folder = workdir / f"{kind}-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    build_s = build_project(folder, kind, n)
    log(f"{kind} {n}: project built in {build_s:.1f} s")
    entry: dict = {
        "kind": kind,
        "pool": n,
        "labeled": N_LABELED,
        "features": N_FEATURES if kind == "tabular" else "text",
        "project_build_s": round(build_s, 2),
    }
    if baseline is not None:
        entry["baseline_first_retrain"] = run_child(folder, code=baseline)
        log(f"{kind} {n}: baseline first retrain {entry['baseline_first_retrain']['wall_s']} s")
    runs: dict[str, dict] = {}
    for choice in choices:
        label = choice or "default"
        first = run_child(folder, text=choice)
        log(
            f"{kind} {n} [{label}]: first retrain (builds the feature cache) {first['wall_s']} s, peak {first['peak_rss_mb']} MB"
        )
        ours, base = [], []
        for _ in range(repeats):
            ours.append(run_child(folder, text=choice))
            if baseline is not None and choice == choices[0]:
                base.append(run_child(folder, code=baseline))
        again = _median(ours)
        log(
            f"{kind} {n} [{label}]: retrain + rescore median {again['median_wall_s']} s of {again['all_wall_s']}, peak {again['peak_rss_mb']} MB"
        )
        runs[label] = {"first_retrain": first, "retrain_rescore": again}
        # every FULL_EVERY-th warm retrain searches the whole grid again (``--repeats 5``
        # reaches one): reported on its own, beside the median
        searched = [r for r in ours if r.get("search") == "grid"]
        if searched:
            runs[label]["grid_search_retrains"] = searched
        if base:
            b = _median(base)
            entry["baseline_retrain_rescore"] = b
            runs[label]["ratio_to_baseline"] = round(again["median_wall_s"] / b["median_wall_s"], 3)
            if searched:
                runs[label]["grid_search_ratio_to_baseline"] = round(
                    max(r["wall_s"] for r in searched) / b["median_wall_s"], 3
                )
            log(f"{kind} {n}: baseline median {b['median_wall_s']} s of {b['all_wall_s']}")
        log(f"{kind} {n} [{label}]: warm retrains searched {[r.get('search') for r in ours]}")
    first_label = choices[0] or "default"
    entry.update(runs[first_label])
    if kind == "text":
        entry["by_text_features"] = runs
    entry["database_mb"] = round(
        sum(p.stat().st_size for p in (folder / ".labeler").glob("project.db*")) / 2**20, 1
    )
    shutil.rmtree(folder, ignore_errors=True)
    return entry


def bench_batch_diverse(log) -> dict:
    """Batch-diverse 100 from a 1M pool vs modAL's uncertainty_batch_sampling on 20k."""
    from modAL.batch import uncertainty_batch_sampling
    from modAL.models import ActiveLearner
    from sklearn.linear_model import LogisticRegression

    from labeler.learning.strategies import rank_pool

    rng = np.random.default_rng(1)
    W = rng.normal(size=(N_FEATURES, N_CLASSES))
    X = rng.normal(size=(1_000_000, N_FEATURES)).astype(np.float32)
    y = (X @ W).argmax(axis=1)
    lab = np.arange(N_LABELED)
    est = LogisticRegression(max_iter=1000).fit(X[lab], y[lab])
    exclude = np.zeros(len(X), dtype=bool)
    exclude[lab] = True

    def ours(pool: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
        t0 = time.perf_counter()
        r = rank_pool("batch-diverse", est, pool, 100, exclude=mask, X_labeled=pool[lab])
        return time.perf_counter() - t0, r.indices

    t_1m, picks = ours(X, exclude)
    log(f"batch-diverse 100 of 1M: {t_1m:.2f} s")
    X20 = X[: N_LABELED + 20_000]
    t_20k_ours, _ = ours(X20, exclude[: len(X20)])
    learner = ActiveLearner(estimator=est)
    learner.X_training = X[lab]
    pool20 = X20[N_LABELED:]
    t0 = time.perf_counter()
    uncertainty_batch_sampling(learner, pool20, n_instances=100)
    t_modal = time.perf_counter() - t0
    log(
        f"modAL uncertainty_batch_sampling 100 of 20k: {t_modal:.2f} s; ours on 20k {t_20k_ours:.2f} s"
    )
    return {
        "n_instances": 100,
        "labeled": N_LABELED,
        "ours_1m_pool_s": round(t_1m, 3),
        "ours_20k_pool_s": round(t_20k_ours, 3),
        "modal_uncertainty_batch_sampling_20k_pool_s": round(t_modal, 3),
        "ratio_ours_1m_over_modal_20k": round(t_1m / t_modal, 4),
        "speedup_on_20k": round(t_modal / t_20k_ours, 1),
        "goal_s": GOAL_BATCH_S,
        "meets_goal": t_1m <= GOAL_BATCH_S,
        "distinct_picks": int(len(set(picks.tolist()))),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--text-sizes", default="100000")
    ap.add_argument("--text-choices", default="", help="comma-separated text feature choices")
    ap.add_argument("--repeats", type=int, default=REPEATS, help="warm retrains per project")
    ap.add_argument("--no-batch-diverse", action="store_true", help="skip that measurement")
    ap.add_argument("--baseline", help="source tree of the code to compare with")
    ap.add_argument("--code", help=argparse.SUPPRESS)
    ap.add_argument("--text-features", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help="scratch folder for the projects (default: a temp dir)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "engine.json"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--strategy", default="margin", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        if args.code:
            sys.path.insert(0, args.code)
            for name in [m for m in sys.modules if m == "labeler" or m.startswith("labeler.")]:
                del sys.modules[name]
        child_train(args.child, args.strategy, args.text_features)
        return 0

    def log(msg: str) -> None:
        print(f"[engine bench] {msg}", file=sys.stderr, flush=True)

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="labeler-engine-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results: dict = {
        "benchmark": "engine",
        "python": platform.python_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "strategy": "margin",
        "model": "logreg (auto)",
        "tabular": [],
    }
    baseline = Path(args.baseline).resolve() if args.baseline else None
    if baseline is not None:
        results["baseline"] = str(baseline)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after every stage, so a long run that is stopped keeps what it did
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    if not args.no_batch_diverse:
        results["batch_diverse"] = bench_batch_diverse(log)
    for n in sizes:
        results["tabular"].append(
            bench_retrain(workdir, "tabular", n, log, baseline, [None], args.repeats)
        )
        save()
    choices: list[str | None] = [c for c in args.text_choices.split(",") if c] or [None]
    results["text_runs"] = []
    for n in [int(x) for x in args.text_sizes.split(",") if x]:
        results["text_runs"].append(
            bench_retrain(workdir, "text", n, log, baseline, choices, args.repeats)
        )
        save()
    if results["text_runs"]:
        results["text"] = results["text_runs"][0]
    largest = max(results["tabular"], key=lambda r: r["pool"]) if results["tabular"] else None
    if largest is not None:
        peak = max(
            largest["first_retrain"]["peak_rss_mb"], largest["retrain_rescore"]["peak_rss_mb"]
        )
        results["peak_memory"] = {
            "pool": largest["pool"],
            "peak_rss_mb": peak,
            "goal_mb": GOAL_PEAK_MB,
            "meets_goal": peak <= GOAL_PEAK_MB,
        }
    for run in results["text_runs"]:
        for label, r in run.get("by_text_features", {}).items():
            peak = max(r["first_retrain"]["peak_rss_mb"], r["retrain_rescore"]["peak_rss_mb"])
            results.setdefault("text_peak_memory", []).append(
                {
                    "pool": run["pool"],
                    "text_features": label,
                    "peak_rss_mb": peak,
                    "goal_mb": GOAL_PEAK_MB,
                    "meets_goal": peak <= GOAL_PEAK_MB,
                }
            )
    save()
    log(f"wrote {out}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
