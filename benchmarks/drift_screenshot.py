"""Screenshots of review mode's Drift tab and its run history with MLflow run ids
(``docs/screenshots/review-drift.png``, ``review-runs-mlflow.png``), from the product's own
path: ``labeler init``, ``import --json``, ``train --tracking mlflow:...`` (in-process CLI
calls) on scikit-learn's breast cancer data, then :class:`ReviewView` offscreen.

The rows arrive in four import batches: the first labeled, then two like it and one from
"another scanner" (cell sizes measured 60% larger). Annotators label part of the second batch
between retrains; every retrain is tracked in a SQLite MLflow store.

    QT_QPA_PLATFORM=offscreen python benchmarks/drift_screenshot.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE_COLUMNS = ("mean radius", "mean perimeter", "mean area", "worst radius", "worst area")


def settle(app: object, predicate: object, extra_ms: int = 300) -> None:
    """Run the event loop until ``predicate()`` holds, then a little longer for painting
    (a timer inside one event loop, as ``review_screenshots.settle`` does)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    timer = QTimer()
    state = {"since": None}

    def check() -> None:
        if state["since"] is None and predicate():  # type: ignore[operator]
            state["since"] = 0
        elif state["since"] is not None:
            state["since"] += timer.interval()
            if state["since"] >= extra_ms:
                loop.quit()

    timer.timeout.connect(check)
    timer.start(50)
    loop.exec()
    timer.stop()


def cli(*args: str) -> None:
    from labeler.cli import main

    code = main(list(args))
    if code != 0:
        raise SystemExit(f"labeler {' '.join(args)} exited {code}")


def build(work: Path) -> tuple[Path, str, list[dict]]:
    """The project folder, its tracking setting, and the import --json drift documents."""
    import contextlib
    import io

    import numpy as np
    from sklearn.datasets import load_breast_cancer

    from labeler.store import Store

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={"target": "label"})
    frame["label"] = np.where(data.target == 0, "malignant", "benign")
    frame.insert(0, "id", [f"p{i:03d}" for i in range(len(frame))])
    order = np.random.default_rng(11).permutation(len(frame))
    parts = np.split(order, [220, 340, 450])
    features = [c for c in data.feature_names[:10]]
    columns = ["id", *features]
    proj = work / "cancer"
    tracking = f"mlflow:sqlite:///{work / 'mlflow' / 'mlflow.db'}"
    (work / "mlflow").mkdir()
    cli("init", str(proj), "--modality", "tabular", "--labels", "malignant,benign")
    docs = []
    for k, rows in enumerate(parts):
        part = frame.iloc[rows][[*columns, "label"]].copy()
        if k == 2:  # another scanner: sizes read 60% larger
            for c in SIZE_COLUMNS:
                if c in part:
                    part[c] *= 1.6
        if k > 0:
            part["label"] = ""
        path = work / f"batch-{k + 1}.csv"
        part.to_csv(path, index=False)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli(
                "import", str(proj), str(path), "--id-column", "id",
                "--feature-columns", ",".join(features), "--label-column", "label", "--json",
            )  # fmt: skip
        docs.append(json.loads(out.getvalue())["drift"])
        if k == 1:  # retrain with tracking, label part of batch 2, retrain again
            cli("train", str(proj), "--tracking", tracking, "--queue-size", "50")
            with Store.open(proj) as store:
                truth = dict(zip(frame["id"], frame["label"], strict=True))
                for sample in store.samples.get_many(store.samples.ids())[220:300]:
                    store.labels.add(sample.id, [truth[sample.external_id]], "alice")
            cli("train", str(proj), "--tracking", tracking, "--queue-size", "50")
    cli("train", str(proj), "--tracking", tracking, "--queue-size", "50")
    return proj, tracking, docs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from labeler.gui.review import ReviewView
    from labeler.store import Store

    app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="drift-shot-"))
    proj, _, docs = build(work)
    for doc in docs:
        print(f"import #{doc['batch']}: {doc['line']}")
    store = Store.open(proj)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    view = ReviewView(store)
    view.resize(1500, 820)
    view.show()
    settle(app, lambda: view.summary is not None and view.drift.records)
    view.tabs.setCurrentWidget(view.drift)
    settle(app, lambda: True)
    view.grab().save(str(out / "review-drift.png"))
    view.tabs.setCurrentWidget(view.runs)
    settle(app, lambda: True)
    view.grab().save(str(out / "review-runs-mlflow.png"))
    for r in store.models.runs():
        print(f"run {r.id} v{r.model_version} {r.status} mlflow {r.mlflow_run_id}")
    view.shutdown()
    store.close()
    print(out / "review-drift.png", out / "review-runs-mlflow.png", sep="\n")


if __name__ == "__main__":
    main()
