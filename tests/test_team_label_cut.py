"""``labeler train`` while a team labels: the label cut never waits for a quiet moment.

Two writers of label events (as annotators' apps are) keep the project's event writes open
without a single gap: each commits only once the other has begun writing, or once a cut is
queued for the lock. A cut that needs a moment without writers never gets one; a cut that
queues for the lock is granted as soon as the writes under way commit.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from labeler.store import Store
from labeler.store import schema as t
from labeler.store.database import utcnow
from labeler.store.label_cut import _LABEL_WRITE_LOCK, append_events, label_watermark

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def _cut_queued(conn: sa.Connection, project_id: int) -> bool:
    """A label cut is waiting for the project's label-write lock (seen in ``pg_locks``)."""
    return bool(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = 0 AND objid = :k"
            ),
            {"k": _LABEL_WRITE_LOCK + project_id},
        ).scalar_one()
    )


def _event_ids(store: Store, up_to: int) -> set[int]:
    le = t.label_event
    with store.read() as conn:
        return set(
            conn.execute(
                sa.select(le.c.id).where(le.c.project_id == store.project_id, le.c.id <= up_to)
            ).scalars()
        )


def test_a_cut_is_taken_while_label_writes_never_pause(make_store) -> None:
    store = make_store(labels=("a", "b"))
    rows = [(f"s{i}", f"{i:064x}", f"text {i}", None, None, None) for i in range(4)]
    with store.samples.bulk_import("mem", "0" * 64) as batch:
        ids = batch.add_samples(rows)
    pid = store.project_id
    stop = threading.Event()
    holding = [threading.Event(), threading.Event()]
    written = [threading.Event(), threading.Event()]
    errors: list[BaseException] = []

    def writer(me: int) -> None:
        other = 1 - me
        client = Store.open(store.location)
        try:
            with client.engine.connect() as watch:
                while not stop.is_set():
                    with client.write() as conn:
                        append_events(
                            conn,
                            pid,
                            [
                                {
                                    "sample_id": ids[me],
                                    "annotator": f"writer{me}",
                                    "action": "flag",
                                    "comment": "busy",
                                    "created_at": utcnow(),
                                }
                            ],
                        )
                        holding[me].set()
                        written[me].set()
                        # commit only when the other writer holds the lock too (no gap) or a
                        # cut queues for it
                        while not (
                            holding[other].is_set() or stop.is_set() or _cut_queued(watch, pid)
                        ):
                            watch.rollback()
                        watch.rollback()
                        holding[me].clear()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            stop.set()
        finally:
            client.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    try:
        assert all(w.wait(60) for w in written)
        cut = label_watermark(store, wait_s=5)
        seen = _event_ids(store, cut)
    finally:
        stop.set()
        for th in threads:
            th.join(60)
    assert not errors
    assert cut > 0 and max(seen) == cut
    assert _event_ids(store, cut) == seen  # exact: nothing at or below the cut came later
