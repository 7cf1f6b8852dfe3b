"""Background retraining with the engine's real scheduler (a worker process): the queue is
re-ranked while labeling goes on, and a failing retrain does not stop labeling."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, Qt

from labeler.app_settings import ProjectSettings
from labeler.store import Store
from tests.gui.gui_helpers import assert_no_worker_threads, open_and_wait, press, shown_id
from tests.helpers import process_gone
from tests.learning_data import add_slow_tabular

pytestmark = [pytest.mark.gui, pytest.mark.slow]

POS = "wonderful brilliant superb moving delightful charming"
NEG = "dreadful boring awful tedious clumsy painful"


def review_project(tmp_path, n: int = 80, **settings) -> tuple[Store, dict[int, str]]:  # type: ignore[no-untyped-def]
    """Texts whose words give their class away, so a model learns quickly."""
    import hashlib

    store = Store.create(tmp_path / "reviews", modality="text", labels=["pos", "neg"])
    rows, truth_by_ext = [], {}
    for i in range(n):
        kind = "pos" if i % 2 == 0 else "neg"
        words = (POS if kind == "pos" else NEG).split()
        text = f"Review {i}: " + " ".join(words[(i + k) % len(words)] for k in range(4))
        rows.append((f"r{i}", hashlib.sha256(text.encode()).hexdigest(), text, None, None, None))
        truth_by_ext[f"r{i}"] = kind
    with store.samples.bulk_import("fixture", "0" * 64) as batch:
        ids = batch.add_samples(rows)
    chosen = ProjectSettings(**{"retrain_every": 10, "batch_size": 60, **settings})
    store.update_settings(**chosen.to_project(store.info.settings))
    truth = {sid: truth_by_ext[f"r{i}"] for i, sid in enumerate(ids)}
    return store, truth


@pytest.fixture
def live_window(qtbot):  # type: ignore[no-untyped-def]
    """A main window with the engine's real background retraining."""
    from PySide6.QtCore import QCoreApplication, QEvent

    from labeler.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    yield w
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert_no_worker_threads()


def key_for(truth: dict[int, str], sid: int) -> str:
    return "1" if truth[sid] == "pos" else "2"


def test_retrain_reranks_queue_while_labeling(qtbot, live_window, tmp_path) -> None:
    store, truth = review_project(tmp_path)
    view = open_and_wait(qtbot, live_window, store)
    c = view.controller
    assert c.retrainer is not None
    swaps: list[tuple[int | None, int | None]] = []  # (shown before, shown after) each swap
    before: dict[str, int | None] = {"id": None}
    c.retrainer.finished.connect(lambda _r: before.__setitem__("id", shown_id(view)))
    c.queueSwapped.connect(lambda _v: swaps.append((before["id"], shown_id(view))))

    labeled = 0
    # label on; the model retrains in the background every 10 labels
    while not any(r.status == "ok" and r.model_version for r in store.models.runs()) or not swaps:
        sid = shown_id(view)
        assert sid is not None, "ran out of samples before a retrain finished"
        press(qtbot, view, key_for(truth, sid))
        labeled += 1
        if labeled >= 30:
            # the annotator pauses: wait for the running retrain to report back
            with qtbot.waitSignal(c.queueSwapped, timeout=120_000):
                pass
            break
    run = store.models.latest_ok()
    assert run is not None and run.label_count >= 10
    # the swap never changed the sample on screen
    assert all(b == a for b, a in swaps)
    # the waiting samples now come from the new ranking, with its provenance
    qtbot.waitUntil(
        lambda: any(
            i.provenance.model_version == store.models.latest_ok().model_version
            for i in c.session.upcoming
        ),
        timeout=60_000,
    )
    # labeling goes on, and labels record why their sample was shown
    for _ in range(3):
        press(qtbot, view, key_for(truth, shown_id(view)))
    last = store.labels.events()[-1]
    assert last.strategy is not None
    assert c.model.version is not None
    assert "Version" in view.panel.model.text()
    # the cold-start retrain at opening (no labels yet) is not reported as a failure
    assert not live_window.failure_button.isVisible()
    assert store.labels.labeled_count() >= labeled + 3


def test_failing_retrain_does_not_stop_labeling(qtbot, live_window, tmp_path) -> None:
    store, truth = review_project(tmp_path, model="no-such-model")
    view = open_and_wait(qtbot, live_window, store)
    c = view.controller
    failures: list[str] = []
    c.failure.connect(lambda msg, _details: failures.append(msg))
    for _ in range(10):
        press(qtbot, view, key_for(truth, shown_id(view)))
    # keep labeling while the retrain requested at 10 labels fails in the background
    while not any("no-such-model" in f for f in failures):
        with qtbot.waitSignal(c.failure, timeout=120_000):
            press(qtbot, view, key_for(truth, shown_id(view)))
    assert live_window.failure_button.isVisible()
    assert "Retraining failed" in live_window.failure_button.text()
    with qtbot.waitSignal(live_window.reporter.reported, timeout=5_000):
        qtbot.mouseClick(live_window.failure_button, Qt.MouseButton.LeftButton)
    assert "no-such-model" in live_window.reporter.last_box.detailedText()
    n = store.labels.labeled_count()
    for _ in range(5):
        press(qtbot, view, key_for(truth, shown_id(view)))
    assert store.labels.labeled_count() == n + 5
    assert store.models.latest_ok() is None
    assert "failed" in view.panel.model.text()


def test_closing_the_window_mid_retrain_kills_the_worker(qtbot, live_window, tmp_path) -> None:
    store = Store.create(tmp_path / "slow", modality="tabular", labels=["c0", "c1", "c2"])
    add_slow_tabular(store, labeled=5000)  # a retrain on these takes about a minute
    chosen = ProjectSettings(model="forest", retrain_every=0, batch_size=10)
    store.update_settings(**chosen.to_project(store.info.settings))
    view = open_and_wait(qtbot, live_window, store)
    c = view.controller
    bridge = c.retrainer
    assert bridge is not None  # no model yet: opening requested a retrain
    qtbot.waitUntil(lambda: bridge.worker_pid is not None, timeout=120_000)
    pid = bridge.worker_pid
    delivered: list[object] = []
    bridge.finished.connect(delivered.append)
    c.modelChanged.connect(delivered.append)

    live_window.close()
    assert process_gone(pid), "closing the window left the retrain worker running"
    QCoreApplication.sendPostedEvents()  # a result queued before the close would arrive now
    assert delivered == []
    assert c.retrainer is None
    assert store.models.runs() == []  # the killed retrain recorded nothing
