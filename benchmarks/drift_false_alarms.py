"""False-alarm rate and power of the drift checks, through the product's own path.

For each data set, 20 random splits into two halves: the first half is imported labeled, the
second imported as a new batch, and the batch's drift is checked as ``labeler import --json``
does (:func:`labeler.learning.batch_drift.batch_drift` on a real project, in the project's
feature space: PSI per feature for tabular data, a domain classifier for text).
Two halves of one data set are the same distribution, so every alarm is a false alarm; the
target is at most 1 in 20. Then one shifted batch per data set must alarm.

Data sets: scikit-learn's breast cancer (tabular; the shift: cell sizes read 60% larger) and
the demo's docstrings (text, the default TF-IDF + WordLlama features; the shift: docstrings of
other libraries than the labeled ones),
plus scikit-learn's digits through :func:`labeler.learning.drift.check_drift` (the image path
reads pixel files; the matrix is the same 8x8 grey levels).

    python benchmarks/drift_false_alarms.py [--splits 20] [--out benchmarks/results/drift.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labeler.learning.batch_drift import batch_drift  # noqa: E402
from labeler.learning.drift import check_drift  # noqa: E402
from labeler.store import Store  # noqa: E402
from tests.learning_data import add_tabular, add_texts  # noqa: E402


def _tabular_project(folder: Path, X_ref, y_ref, X_new, names) -> dict:
    with Store.create(folder, modality="tabular", labels=list(names)) as store:
        add_tabular(store, X_ref, [(names[int(k)],) for k in y_ref])
        add_tabular(store, X_new)
        return batch_drift(store)


def _text_project(folder: Path, ref, y_ref, new, names) -> dict:
    with Store.create(folder, modality="text", labels=list(names)) as store:
        add_texts(store, list(ref), [(str(k),) for k in y_ref])
        rows = [(f"n{i}", f"new-{i}-{hash(t)}", t, None, None, None) for i, t in enumerate(new)]
        with store.samples.bulk_import("batch", "0" * 64) as batch:
            batch.add_samples(rows)
        return batch_drift(store)


def _summary(results: list[dict], seconds: float) -> dict:
    return {
        "splits": len(results),
        "alarms": sum(r["level"] in ("moderate", "strong") for r in results),
        "levels": [r["level"] for r in results],
        "scores": [r.get("score") for r in results],
        "method": results[0].get("method"),
        "seconds_per_check": round(seconds / max(1, len(results)), 3),
    }


def breast_cancer(work: Path, splits: int) -> dict:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X, y, names = data.data[:, :10], data.target, ("malignant", "benign")
    out, t = [], time.perf_counter()
    for seed in range(splits):
        order = np.random.default_rng(seed).permutation(len(X))
        a, b = order[: len(X) // 2], order[len(X) // 2 :]
        out.append(_tabular_project(work / f"bc-{seed}", X[a], y[a], X[b], names))
    doc = _summary(out, time.perf_counter() - t)
    order = np.random.default_rng(99).permutation(len(X))
    a, b = order[: len(X) // 2], order[len(X) // 2 :]
    shifted = X[b].copy()
    shifted[:, [0, 2, 3]] *= 1.6  # radius, perimeter, area read 60% larger
    doc["shifted"] = _tabular_project(work / "bc-shift", X[a], y[a], shifted, names)["line"]
    return doc


def docstrings(work: Path, splits: int) -> dict:
    from labeler.data.demo import _docstrings

    _, frame, _ = _docstrings()
    texts, labels = frame["text"].to_numpy(), frame["label"].to_numpy()
    names = tuple(sorted(set(labels)))
    out, t = [], time.perf_counter()
    for seed in range(splits):
        order = np.random.default_rng(seed).permutation(len(texts))
        a, b = order[: len(texts) // 2], order[len(texts) // 2 :]
        out.append(_text_project(work / f"doc-{seed}", texts[a], labels[a], texts[b], names))
    doc = _summary(out, time.perf_counter() - t)
    first = np.isin(labels, names[:2])
    ref, other = np.nonzero(first)[0], np.nonzero(~first)[0]
    doc["shifted"] = _text_project(
        work / "doc-shift", texts[ref], labels[ref], texts[other], names
    )["line"]
    doc["shifted_is"] = f"labeled: {', '.join(names[:2])}; batch: {', '.join(names[2:])}"
    doc["features"] = "the project's default text features (tfidf+embedding)"
    return doc


def digits(splits: int) -> dict:
    from sklearn.datasets import load_digits

    d = load_digits()
    out, t = [], time.perf_counter()
    for seed in range(splits):
        order = np.random.default_rng(seed).permutation(len(d.data))
        a, b = order[: len(order) // 2], order[len(order) // 2 :]
        out.append(check_drift(d.data[a], d.data[b], "image", seed=seed).to_json())
    doc = _summary(out, time.perf_counter() - t)
    doc["shifted"] = check_drift(d.data[d.target < 7], d.data[d.target >= 3], "image").line()
    doc["shifted_is"] = "labeled digits 0-6; batch digits 3-9"
    return doc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "drift.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as tmp:
        work = Path(tmp)
        doc = {
            "what": "drift alarms over random splits of one data set (false alarms; target "
            "at most 1 in 20) and on one shifted batch each",
            "breast_cancer_tabular_psi": breast_cancer(work, args.splits),
            "docstrings_text_auc": docstrings(work, args.splits),
            "digits_pixels_auc": digits(args.splits),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    for name, entry in doc.items():
        if isinstance(entry, dict):
            print(
                f"{name}: {entry['alarms']}/{entry['splits']} false alarms "
                f"({entry['seconds_per_check']} s per check); shifted batch: {entry['shifted']}"
            )


if __name__ == "__main__":
    main()
