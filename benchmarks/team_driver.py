"""One annotator for ``benchmarks/team_load.py``: the app's own annotation controller, headless,
with its in-app background retraining, labeling what it is shown.

    python benchmarks/team_driver.py PROJECT NAME --truth TRUTH.json [--labels N]
                                     [--pace-ms LO,HI] [--seed S]

Each shown sample is labeled (with its true label, so retrains learn something) after a
pause drawn from ``--pace-ms`` (0,0: flat out). A label the store refused is pressed again
after a second, as an annotator would. Stops after ``--labels`` labels, or when a line
``stop`` arrives on stdin. Prints one JSON object per line on stdout, flushed at once:

* ``shown`` (sid), ``saved`` (sid, eid, ms: label() to committed), ``none`` (free: samples
  still free for this annotator when the screen said nothing is left; -1 when the store
  could not be asked), ``retrain`` (ok, deferred, version, error), ``failure`` (msg),
  ``opened``, ``closing``, ``closed``. Every line has ``t`` (wall clock, seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def emit(ev: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"ev": ev, "t": time.time(), **fields}) + "\n")
    sys.stdout.flush()


def free_for(location: Any, annotator: str, session: str) -> int:
    """Unlabeled samples that no other app holds: what this annotator could still be given."""
    import sqlalchemy as sa

    from labeler.store import schema as t
    from labeler.store.database import utcnow

    args = {"connect_timeout": 3} if not location.is_sqlite else {}
    engine = sa.create_engine(location.url, connect_args=args)
    try:
        with engine.connect() as conn:
            pid = conn.execute(
                sa.select(t.project.c.id).where(t.project.c.name == location.name)
            ).scalar_one()
            st, c, s = t.sample_state, t.sample_claim, t.sample
            labeled = sa.select(st.c.sample_id).where(
                st.c.project_id == pid, st.c.status == "labeled"
            )
            held = sa.select(c.c.sample_id).where(
                c.c.project_id == pid,
                c.c.expires_at > utcnow(),
                sa.or_(c.c.annotator != annotator, c.c.session != session),
            )
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(s)
                    .where(s.c.project_id == pid, s.c.id.not_in(labeled), s.c.id.not_in(held))
                ).scalar_one()
            )
    finally:
        engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("project")
    ap.add_argument("name")
    ap.add_argument("--truth", required=True)
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--pace-ms", default="0,0")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.pace_ms.split(","))
    truth: dict[str, str] = json.loads(Path(args.truth).read_text(encoding="utf-8"))
    rng = random.Random(args.seed)

    from PySide6.QtCore import QTimer

    from labeler.gui.app import ensure_app
    from labeler.gui.controller import AnnotationController

    app = ensure_app()
    c = AnnotationController(args.name)  # the real retrainer (worker process), as in the app
    state = {"saved": 0, "t0": 0.0, "stopping": False, "item": None}
    stop_asked = threading.Event()

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop_asked.set()

    threading.Thread(target=read_stdin, daemon=True).start()

    def finish() -> None:
        if state["stopping"]:
            return
        state["stopping"] = True
        emit("closing")  # the sample on screen is given back from here on
        c.close()
        emit("closed", saved=state["saved"])
        app.quit()

    def press() -> None:
        item = c.current
        if state["stopping"] or item is None or c.busy:
            return
        state["t0"] = time.perf_counter()
        label = truth.get(item.sample.external_id, "")
        if not c.label([label] if label else []):
            QTimer.singleShot(1000, press)

    def on_shown(item: Any) -> None:
        if item is None:
            try:
                free = free_for(c.overview.location, c.annotator, c.session_id)  # type: ignore[union-attr]
            except Exception:  # noqa: BLE001 - the server is away: unknown
                free = -1
            emit("none", free=free)
            return
        emit("shown", sid=item.sample_id)
        QTimer.singleShot(rng.randint(lo, hi) if hi else 0, press)

    def on_saved(sid: int, eid: int) -> None:
        ms = (time.perf_counter() - state["t0"]) * 1000
        state["saved"] += 1
        emit("saved", sid=sid, eid=eid, ms=round(ms, 3))
        if state["saved"] >= args.labels:
            QTimer.singleShot(0, finish)

    def on_failure(msg: str, _details: str) -> None:
        emit("failure", msg=msg[:300])
        QTimer.singleShot(1000, press)  # the annotator presses the key again

    def on_retrained(result: Any) -> None:
        run = getattr(result, "run", None)
        emit(
            "retrain",
            ok=bool(result.ok),
            deferred=getattr(result, "deferred_to", None),
            version=getattr(run, "model_version", None) if run is not None else None,
            error=(result.error or "")[:300] if not result.ok else None,
        )

    def on_opened(_overview: Any) -> None:
        emit("opened", session=c.session_id)
        QTimer.singleShot(0, lambda: c.retrainer and c.retrainer.finished.connect(on_retrained))

    def on_open_failed(msg: str, _details: str) -> None:
        emit("failure", msg=f"open: {msg}"[:300])
        state["stopping"] = True
        app.quit()

    def watch_stop() -> None:
        if stop_asked.is_set():
            finish()

    c.projectOpened.connect(on_opened)
    c.openFailed.connect(on_open_failed)
    c.itemShown.connect(on_shown)
    c.labelSaved.connect(on_saved)
    c.failure.connect(on_failure)
    ticker = QTimer()
    ticker.timeout.connect(watch_stop)
    ticker.start(100)
    c.open(args.project)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
