"""What model selection costs a text retrain: CPU seconds of the cross-validation on the engine
benchmark's synthetic short texts (``benchmarks/engine.py``), 2,000 labeled rows, 5 folds.

    python benchmarks/selection_cost.py [--rows 2000] [--repeats 3] [--out FILE]

Rows (each the median of ``--repeats``, CPU time of this process, so a loaded machine
inflates it less than wall time):

* ``before #9``: TF-IDF, logistic regression C=1 by saga, one plain cross-validation (what
  the engine benchmark's baseline tree does);
* ``saga grid``: TF-IDF + embeddings, the grid C = 0.1, 1, 10 by saga (the solver before);
* ``lbfgs grid``: the same grid by lbfgs on the used columns (a retrain that searches);
* ``lbfgs previous winner``: one candidate, the previous search's winner (a retrain between
  searches).

Also each row's out-of-fold macro-F1 and the chosen C. Writes
``benchmarks/results/selection_cost.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _texts(rows: int) -> tuple[list[str], np.ndarray]:
    from engine import _rows_text  # benchmarks/ is the script folder

    made, labels = _rows_text(np.random.default_rng(0), 0, rows)
    return [r[2] for r in made], np.asarray(labels, dtype=object)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "selection_cost.json"))
    args = ap.parse_args(argv)

    from labeler.learning.catalog import make_estimator
    from labeler.learning.features import FeatureSettings, text_matrix
    from labeler.learning.fitting import Targets, metrics_from
    from labeler.learning.selection import Previous, select_model

    warnings.simplefilter("ignore")
    texts, y = _texts(args.rows)
    targets = Targets(y, sorted(set(y)), False)
    pair = text_matrix(texts, FeatureSettings(text_features="tfidf+embedding"))
    X_pair = pair[np.arange(len(y))]
    X_tfidf = text_matrix(texts, FeatureSettings(text_features="tfidf"))
    lbfgs = make_estimator("logreg", "text")
    saga = make_estimator("logreg", "text").set_params(solver="saga")

    def grid(est, X):
        return lambda: select_model(est, "logreg", X, targets, 5, 0, feature_key="k")

    full = grid(lbfgs, X_pair)()
    params = {"model": "logreg", "feature_key": "k", "cv_folds": 5, "selection": full.record()}
    previous = Previous.from_params(params)

    def again():
        return select_model(
            lbfgs, "logreg", X_pair, targets, 5, 0, previous=previous, feature_key="k"
        )

    cases = {
        "saga grid": grid(saga, X_pair),
        "lbfgs grid": grid(lbfgs, X_pair),
        "lbfgs previous winner": again,
    }
    results: dict = {
        "benchmark": "selection_cost",
        "python": platform.python_version(),
        "rows": args.rows,
        "folds": 5,
        "repeats": args.repeats,
        "cases": {},
    }
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    def plain_cv() -> float:  # before #9: C=1 saga on TF-IDF, 5 folds, no grid
        oof = np.zeros((len(y), len(targets.classes)))
        for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(X_tfidf, y):
            est = clone(saga).fit(X_tfidf[train], y[train])
            oof[test] = est.predict_proba(X_tfidf[test])
        return metrics_from(oof, targets)["macro_f1"]

    cpu = []
    for _ in range(args.repeats):
        t0 = time.process_time()
        f1 = plain_cv()
        cpu.append(time.process_time() - t0)
    results["cases"]["before #9 (tfidf, C=1 saga)"] = {
        "cpu_s": round(float(np.median(cpu)), 3),
        "macro_f1": round(f1, 4),
        "chosen": {"C": 1.0},
    }
    for name, run in cases.items():
        cpu = []
        for _ in range(args.repeats):
            t0 = time.process_time()
            sel = run()
            cpu.append(time.process_time() - t0)
        assert sel.oof is not None
        results["cases"][name] = {
            "cpu_s": round(float(np.median(cpu)), 3),
            "macro_f1": round(metrics_from(sel.oof, targets)["macro_f1"], 4),
            "chosen": sel.chosen,
            "search": sel.search["mode"],
        }
        print(f"[selection cost] {name}: {results['cases'][name]}", file=sys.stderr, flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"[selection cost] wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
