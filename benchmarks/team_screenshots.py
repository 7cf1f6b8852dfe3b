"""Screenshots of the team review tabs for ``docs/screenshots/team-*.png``: the adjudication
queue and the per-annotator statistics.

Builds the text demo project with overlap set (2 annotators on 30 % of the samples), then
three annotators label it through the app's own queue path: each fetches and claims samples
with :func:`labeler.gui.annotation_ops.fetch` (the overlap samples a colleague labeled come
first) and commits labels with :func:`labeler.gui.annotation_ops.commit_label`, as the
annotate screen does. Their answers follow the demo's true labels with different error
rates, and each records a time per label drawn around their own pace (the annotate screen
measures it; a script cannot wait seconds per label). A reviewer then opens review mode and
settles the first disagreements with the label keys in the Adjudication tab (real key
events), and the view is grabbed offscreen.

    QT_QPA_PLATFORM=offscreen python benchmarks/team_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

# annotator: (share of wrong labels, median seconds per label)
TEAM = {"alice": (0.04, 2.6), "bob": (0.12, 4.1), "carol": (0.22, 3.2)}
LABELS_EACH = 150
ADJUDICATED_BY_KEYS = 12


def build(folder: Path) -> tuple[object, dict[str, str]]:
    import numpy as np
    import pandas as pd

    from labeler.data.demo import create_demo
    from labeler.gui import annotation_ops as ops
    from labeler.store.overlap import OverlapSettings

    store = create_demo("text", folder)
    store.update_settings(**OverlapSettings(2, 0.3).to_settings(store.info.settings))
    truth = pd.read_csv(folder / "truth.csv")
    by_ext = dict(zip(truth["id"].astype(str), truth["label"].astype(str), strict=True))
    labels = store.info.label_names
    rng = np.random.default_rng(13)
    sessions = {name: uuid.uuid4().hex for name in TEAM}
    done = dict.fromkeys(TEAM, 0)
    seen: dict[str, set[int]] = {name: set() for name in TEAM}
    while min(done.values()) < LABELS_EACH:
        for name, (error_rate, median_s) in TEAM.items():
            if done[name] >= LABELS_EACH:
                continue
            fetched = ops.fetch(store, 5, seen[name], name, sessions[name])
            for item in fetched.items:
                true = by_ext[item.sample.external_id]
                given = true
                if rng.random() < error_rate:
                    given = labels[(labels.index(true) + int(rng.integers(1, len(labels)))) % 3]
                ms = int(rng.lognormal(np.log(median_s * 1000), 0.45))
                ops.commit_label(store, item, [given], name, ms, sessions[name])
                seen[name].add(item.sample_id)
                done[name] += 1
            ops.release_claims(store, name, sessions[name])
    return store, by_ext


def settle(app: object, predicate: object, extra_ms: int = 300) -> None:
    from review_screenshots import settle as _settle

    _settle(app, predicate, extra_ms)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from labeler.gui.review import ReviewView

    app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="team-shots-"))
    store, by_ext = build(work / "docstrings")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    view = ReviewView(store, reviewer="lead")
    view.resize(1500, 900)
    view.show()
    team = view.team
    settle(app, lambda: team.adjudication.items and team.annotators.table.rowCount() > 0)

    panel = team.adjudication
    view.tabs.setCurrentWidget(panel)
    settle(app, lambda: panel.selected_id() is not None)
    keys = {lab.name: lab.shortcut for lab in store.info.labels}
    recorded = {"n": 0}
    team.adjudicated.connect(lambda *_: recorded.__setitem__("n", recorded["n"] + 1))
    for _ in range(ADJUDICATED_BY_KEYS):  # the reviewer settles the first ones by their truth
        item = panel.items[panel.table.currentRow()]
        QTest.keyClick(panel.table, keys[by_ext[item.external_id]])
    settle(app, lambda: recorded["n"] == ADJUDICATED_BY_KEYS)
    settle(app, lambda: team._loading == 0, extra_ms=600)
    QTest.keyClick(panel.table, Qt.Key.Key_Down)
    settle(app, lambda: True)
    view.grab().save(str(out / "team-adjudication.png"))

    view.tabs.setCurrentWidget(team.annotators)
    settle(app, lambda: True)
    view.grab().save(str(out / "team-annotators.png"))

    view.tabs.setCurrentWidget(view.agreement)
    settle(app, lambda: view.summary is not None)
    view.grab().save(str(out / "team-agreement.png"))
    view.shutdown()
    store.close()
    print("\n".join(sorted(str(p) for p in out.glob("team-*.png"))))


if __name__ == "__main__":
    main()
