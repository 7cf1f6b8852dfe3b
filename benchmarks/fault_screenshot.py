"""The annotate window while its PostgreSQL server is frozen, and how long it takes to notice
and to recover: ``docs/screenshots/annotate-reconnecting.png`` and
``benchmarks/results/fault_recovery.json``.

The text demo's samples are imported into a scratch database on the given server (created and
dropped here). The app's own main window opens the project through a TCP proxy
(``tests/fault_proxy.py``) that stops forwarding, the way a frozen server looks to a client,
without touching the server itself. The annotator labels by keyboard at a steady pace; the
server freezes right after a label is saved that leaves the prefetch low, the window notices
(the refill fails), the annotator labels once more (not saved), the server comes back, and the
window saves that label and shows new samples by itself. The product's own timeouts are used
(``labeler.store.database.INTERACTIVE_TIMEOUTS``), so noticing takes up to ``answer_s`` +
``connect_s``.

    QT_QPA_PLATFORM=offscreen python benchmarks/fault_screenshot.py \\
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DB = os.environ.get(
    "LABELER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def wait_until(app, predicate: Callable[[], bool], timeout_s: float, what: str) -> float:  # type: ignore[no-untyped-def]
    """Run the event loop until ``predicate`` holds; returns the seconds it took."""
    start = time.monotonic()
    while not predicate():
        app.processEvents()
        if time.monotonic() - start > timeout_s:
            raise SystemExit(f"fault_screenshot: timed out waiting for {what}")
        time.sleep(0.01)
    return time.monotonic() - start


def make_project(scratch_url: str, work: Path) -> tuple[object, str]:
    from labeler.data.demo import create_demo
    from labeler.data.importer import ColumnMapping, import_file
    from labeler.store import Store

    demo = create_demo("text", work / "demo")
    labels = demo.info.label_names
    settings = demo.info.settings
    demo.close()
    store = Store.create(
        work / "team",
        modality="text",
        labels=labels,
        database_url=scratch_url,
        settings=settings,
    )
    pool = work / "demo" / "demo-data" / "pool.csv"
    import_file(store, pool, ColumnMapping(id_column="id", text_column="text"))
    return store, store.location.name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=DEFAULT_DB, help="a PostgreSQL server URL")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results" / "fault_recovery.json"
    )
    args = parser.parse_args()

    import sqlalchemy as sa
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from labeler.gui.main_window import MainWindow
    from labeler.gui.queue_feed import LOW_WATER
    from labeler.store.database import INTERACTIVE_TIMEOUTS
    from tests.fault_proxy import FaultProxy

    name = f"labeler_faults_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    scratch = sa.engine.make_url(args.database).set(database=name).render_as_string(False)
    proxy = FaultProxy.for_url(scratch)
    app = QApplication.instance() or QApplication([])
    window = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.setdefault("LABELER_CONFIG_DIR", str(Path(tmp) / "config"))
            os.environ.setdefault("LABELER_DATA_DIR", str(Path(tmp) / "data"))
            store, project = make_project(scratch, Path(tmp))
            window = MainWindow(retrainer_factory=lambda *a: None)
            window.resize(1100, 700)
            window.show()
            window.open_project(f"{proxy.url(scratch)}#{project}")
            c = window.controller
            wait_until(app, lambda: c.current is not None, 60, "the first sample")
            view = window.annotate_view
            key = store.info.labels[0].shortcut
            frozen_at: list[float] = []
            nothing_left: list[str] = []  # every "nothing left" screen the view shows

            def watch_screen(*_args: object) -> None:
                text = view.display.message_view.text()
                if view.display.currentWidget() is view.display.message_view and (
                    "Nothing left" in text
                ):
                    nothing_left.append(text)

            c.itemShown.connect(watch_screen)
            c.connectionChanged.connect(watch_screen)

            def freeze_when_low(*_args: object) -> None:
                # the label just saved leaves the prefetch below its low-water mark: the
                # refill that follows finds the server frozen
                if not frozen_at and len(c.session.upcoming) <= LOW_WATER:
                    proxy.pause()
                    frozen_at.append(time.monotonic())

            c.labelSaved.connect(freeze_when_low)
            while not frozen_at:
                before = c.session.stats.labels
                QTest.keyClick(view, key)
                wait_until(
                    app,
                    lambda before=before: c.session.stats.labels > before and c.current is not None,
                    30,
                    "a label",
                )
            # from the freeze itself: first the slow call is shown, then the server given up
            wait_until(app, lambda: bool(c.reconnecting), 120, "the waiting state")
            waiting = time.monotonic() - frozen_at[0]
            waiting_line = c.reconnecting
            wait_until(app, lambda: c.connection.lost, 120, "the reconnecting state")
            noticed = time.monotonic() - frozen_at[0]
            reconnecting_line = c.reconnecting
            labels_before = c.session.stats.labels
            shown = c.current
            failures: list[str] = []
            c.failure.connect(lambda line, _d: failures.append(line))
            QTest.keyClick(view, key)
            wait_until(app, lambda: bool(failures), 120, "the 'not saved' line")
            for _ in range(20):  # let the window repaint
                app.processEvents()
                time.sleep(0.02)
            args.out.mkdir(parents=True, exist_ok=True)
            shot = args.out / "annotate-reconnecting.png"
            window.grab().save(str(shot))
            proxy.resume()
            saved_s = wait_until(
                app, lambda: shown.sample_id in c.session.done_ids, 120, "the unsaved label saved"
            )
            refill_s = (
                wait_until(
                    app,
                    lambda: not c.reconnecting and len(c.session.upcoming) > 0,
                    120,
                    "new samples",
                )
                + saved_s
            )
            events = [
                e for e in store.labels.events(sample_id=shown.sample_id) if e.action == "label"
            ]
            window.grab().save(str(args.out / "annotate-reconnected.png"))
            doc = {
                "server": "frozen (TCP proxy stops forwarding)",
                "timeouts": INTERACTIVE_TIMEOUTS.__dict__,
                "labels_before_freeze": labels_before,
                "shown_waiting_after_s": round(waiting, 2),
                "waiting_line": waiting_line,
                "reconnecting_after_s": round(noticed, 2),
                "reconnecting_line": reconnecting_line,
                "not_saved_line": failures[0],
                "after_resume_label_saved_s": round(saved_s, 2),
                "after_resume_samples_again_s": round(refill_s, 2),
                "label_events_for_the_unsaved_sample": len(events),
                "nothing_left_screens": len(nothing_left),
            }
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            print(json.dumps(doc, indent=2))
            print(f"wrote {shot}")
            window.close()
            store.close()
    finally:
        proxy.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
