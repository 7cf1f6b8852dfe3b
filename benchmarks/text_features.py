"""Which text features should a new project use? tfidf, embedding and tfidf+embedding on text
sets built from installed packages (nothing downloaded), through the engine's own code:
``text_matrix`` (the features a project computes), the catalog's logistic regression and the
model selection every retrain runs.

    python benchmarks/text_features.py [--seeds 5] [--labels 100] [--out FILE]

Sets:
* ``docstrings``: the text demo: first paragraphs of API docstrings, labeled by library
  (stdlib, NumPy, pandas, scikit-learn).
* ``scipy-topics``: the first sentence of every public SciPy function's docstring, labeled by
  subpackage (stats, linalg, signal, ...): short messages, imbalanced classes.
* ``api-summaries``: :func:`benchmarks.bench_data.api_summaries` (docstring summaries of seven
  libraries, imbalanced), a seeded random subset of ``--api-rows`` rows (default 4,000: about
  a retrain's labeled set).

Per set and choice: macro-F1 of 5-fold cross-validation on all rows (the retrain's own
out-of-fold figure, with its grid), and macro-F1 on the remaining rows after training on
``--labels`` random labels (mean over seeds, each with the retrain's model selection).
Writes ``benchmarks/results/text_features.json``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHOICES = ("tfidf", "embedding", "tfidf+embedding")
SCIPY_TOPICS = (
    "stats",
    "linalg",
    "signal",
    "optimize",
    "sparse",
    "special",
    "interpolate",
    "ndimage",
    "spatial",
    "integrate",
    "fft",
)


def docstrings() -> tuple[list[str], list[str]]:
    from labeler.data.demo import _docstrings

    _, truth, _ = _docstrings()
    return truth["text"].tolist(), truth["label"].tolist()


def api_summaries(rows: int) -> tuple[list[str], list[str]]:
    from bench_data import api_summaries as build  # benchmarks/ is the script folder

    frame = build()
    if len(frame) > rows:
        frame = frame.sample(n=rows, random_state=0).sort_index()
    return frame["text"].tolist(), frame["label"].tolist()


def scipy_topics() -> tuple[list[str], list[str]]:
    texts, labels, seen = [], [], set()
    for topic in SCIPY_TOPICS:
        mod = importlib.import_module(f"scipy.{topic}")
        for name in sorted(getattr(mod, "__all__", dir(mod))):
            obj = getattr(mod, name, None)
            if name.startswith("_") or not callable(obj):
                continue
            doc = " ".join((inspect.getdoc(obj) or "").split())
            first = doc.split(". ")[0].strip()
            if len(first) < 20 or first in seen:
                continue
            seen.add(first)
            texts.append(first[:300])
            labels.append(topic)
    return texts, labels


def evaluate(X, y: np.ndarray, classes: list[str], seeds: int, n_labels: int) -> dict:
    from sklearn.metrics import f1_score

    from labeler.learning.catalog import make_estimator
    from labeler.learning.fitting import Targets, metrics_from
    from labeler.learning.selection import select_model

    base = make_estimator("logreg", "text" if sp.issparse(X) else "vectors")  # as a retrain does
    t0 = time.perf_counter()
    full = select_model(base, "logreg", X, Targets(y, classes, False), 5, 0)
    assert full.oof is not None
    full_f1 = metrics_from(full.oof, Targets(y, classes, False))["macro_f1"]
    cv_s = time.perf_counter() - t0
    few = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(y))
        lab, rest = order[:n_labels], order[n_labels:]
        present = [c for c in classes if (y[lab] == c).any()]
        targets = Targets(y[lab], present, False)
        sel = select_model(base, "logreg", X[lab], targets, 5, seed)
        model = sel.finish(sel.estimator.fit(X[lab], y[lab]))
        pred = model.predict(X[rest])
        few.append(float(f1_score(y[rest], pred, labels=classes, average="macro", zero_division=0)))
    return {
        "cv_macro_f1_all": round(full_f1, 4),
        "chosen_all": full.chosen,
        "brier_all": full.calibration.get("brier"),
        "cv_seconds": round(cv_s, 2),
        f"macro_f1_at_{n_labels}_mean": round(float(np.mean(few)), 4),
        f"macro_f1_at_{n_labels}_sd": round(float(np.std(few)), 4),
        f"macro_f1_at_{n_labels}": [round(f, 4) for f in few],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--sets", default="docstrings,scipy-topics")
    ap.add_argument("--choices", default=",".join(CHOICES), help="text feature choices to run")
    ap.add_argument("--api-rows", type=int, default=4000, help="rows of api-summaries used")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "text_features.json"))
    args = ap.parse_args(argv)

    from labeler.learning.features import FeatureSettings, text_matrix

    results: dict = {
        "benchmark": "text_features",
        "python": platform.python_version(),
        "model": "logreg with the retrain's grid (C, balanced weights when imbalanced)",
        "seeds": args.seeds,
        "labels": args.labels,
        "sets": {},
    }
    builders = {
        "docstrings": docstrings,
        "scipy-topics": scipy_topics,
        "api-summaries": lambda: api_summaries(args.api_rows),
    }
    for name in args.sets.split(","):
        build = builders[name]
        texts, labels = build()
        y = np.asarray(labels, dtype=object)
        classes = sorted(set(labels))
        counts = {c: int((y == c).sum()) for c in classes}
        entry: dict = {"rows": len(y), "classes": counts, "choices": {}}
        for choice in args.choices.split(","):
            t0 = time.perf_counter()
            X = text_matrix(texts, FeatureSettings(text_features=choice))
            feat_s = time.perf_counter() - t0
            row = {
                "features_seconds": round(feat_s, 2),
                **evaluate(X, y, classes, args.seeds, args.labels),
            }
            entry["choices"][choice] = row
            print(
                f"[text features] {name} {choice}: {json.dumps(row)}", file=sys.stderr, flush=True
            )
        results["sets"][name] = entry
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"[text features] wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
