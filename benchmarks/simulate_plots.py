"""``labeler simulate --metric macro-f1`` on four data sets; the plots and reports in docs/.

    python benchmarks/simulate_plots.py [--sets digits,wine,breast-cancer,api-summaries]
                                        [--seeds 5] [--strategy margin,entropy,...]
    python benchmarks/simulate_plots.py --replot   # redraw the PNGs from docs/*.json

Each set is written to a CSV in a temporary folder and run through the real command line
(``python -m labeler simulate``), which writes ``docs/simulate-<set>.json`` and
``docs/simulate-<set>.png``. The data come from installed packages (see ``bench_data.py``);
nothing is downloaded. A summary of every run goes to ``benchmarks/results/simulate.json``
(sets run before and not run now are kept, so the sets can be run one at a time; each set
records its seeds, budget, wall time and the load average around its run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_data import library_versions, sklearn_table, text_set  # noqa: E402

SETS = ("digits", "wine", "breast-cancer", "api-summaries")
STRATEGIES = "margin,entropy,least-confident,batch-diverse"


def build(name: str, folder: Path, text_rows: int | None, text_table: str | None) -> Path:
    frame = text_set(text_rows, text_table) if name == "api-summaries" else sklearn_table(name)
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, help="labels to spend (default: simulate's)")
    parser.add_argument(
        "--text-rows", type=int, help="a stratified sample of this many rows of the text set"
    )
    parser.add_argument("--text-table", help="the text set saved to CSV before (skips building)")
    parser.add_argument("--strategy", default=STRATEGIES)
    parser.add_argument("--docs", default=str(ROOT / "docs"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "simulate.json"))
    parser.add_argument("--replot", action="store_true", help="only redraw from the JSON")
    args = parser.parse_args()
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    if args.replot:
        from labeler.learning.plots import plot_simulation

        for name in [s for s in args.sets.split(",") if s]:
            report = docs / f"simulate-{name}.json"
            plot_simulation(json.loads(report.read_text()), docs / f"simulate-{name}.png")
        return 0
    out = Path(args.out)
    previous = json.loads(out.read_text()) if out.is_file() else {}
    summary: dict = {
        "command": "labeler simulate FILE --label-column label --metric macro-f1 "
        "--strategy STRATEGIES --seeds SEEDS [--budget BUDGET]",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "text_set_sources": library_versions(),
        "sets": previous.get("sets", {}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in [s for s in args.sets.split(",") if s]:
            csv = build(name, Path(tmp), args.text_rows, args.text_table)
            report, png = docs / f"simulate-{name}.json", docs / f"simulate-{name}.png"
            cmd = [
                sys.executable, "-m", "labeler", "simulate", str(csv),
                "--label-column", "label", "--metric", "macro-f1",
                "--strategy", args.strategy, "--seeds", str(args.seeds),
                "--json", str(report), "--plot", str(png),
            ] + (["--budget", str(args.budget)] if args.budget else [])  # fmt: skip
            load_before = [round(x, 2) for x in os.getloadavg()]
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            print(proc.stdout, end="")
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return proc.returncode
            doc = json.loads(report.read_text())
            doc["source"] = f"{name}.csv"  # not the temporary folder's path
            report.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            summary["sets"][name] = {
                "rows": doc["rows"],
                "sampled_from": (
                    "a stratified sample (random_state 0) of the API-summaries set"
                    if name == "api-summaries" and args.text_rows
                    else None
                ),
                "classes": len(doc["classes"]),
                "budget": doc["budget"],
                "seeds": doc["seeds"],
                "strategies_run": args.strategy,
                "full_macro_f1": doc["full_score"],
                "model_selection": doc.get("model_selection", {}).get("rule"),
                "seconds": round(seconds, 1),
                "conditions": {
                    "load_average_before": load_before,
                    "load_average_after": [round(x, 2) for x in os.getloadavg()],
                    "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
                },
                "strategies": {
                    s: {
                        k: e[k]
                        for k in (
                            "labels_to_95",
                            "first_reach_95",
                            "labels_to_98",
                            "first_reach_98",
                            "final_score",
                        )
                    }
                    for s, e in doc["strategies"].items()
                },
            }
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
