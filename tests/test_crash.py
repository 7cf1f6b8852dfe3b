"""A process appending label events is SIGKILLed at a random moment; every event it reported
as committed survives, and the database passes PRAGMA integrity_check."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from labeler.store import Store
from tests.helpers import REPO

CHILD = textwrap.dedent(
    """
    import sys
    from labeler.store import Store
    store = Store.open(sys.argv[1])
    ids = store.samples.ids()
    names = store.info.label_names
    print("ready", flush=True)
    i = 0
    while True:
        sid = ids[i % len(ids)]
        if i % 7 == 6:
            result = store.labels.undo("crash-bot")
            eid = result.event_id if result else None
        else:
            eid = store.labels.add(sid, [names[i % 2]], "crash-bot", time_spent_ms=i)
        if eid is not None:
            print(eid, flush=True)   # reported only after the commit returned
        i += 1
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_loses_no_committed_label(tmp_path, seed):
    store = Store.create(tmp_path / "p", modality="text", labels=["a", "b"])
    rows = [(f"s{i}", f"h{i}", f"text {i}", None, None, None) for i in range(50)]
    with store.samples.bulk_import("mem", "x") as batch:
        batch.add_samples(rows)
    store.close()

    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "p")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout.readline().strip() == "ready"
    rng = random.Random(seed)
    reported: list[int] = []
    target = rng.randint(20, 200)
    while len(reported) < target:
        line = child.stdout.readline()
        assert line, "child died early"
        reported.append(int(line))
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    # lines the child printed before the kill but we did not read yet are committed too
    reported += [int(x) for x in child.stdout.read().split()]

    db = tmp_path / "p" / ".labeler" / "project.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = Store.open(tmp_path / "p")
    stored = {e.id for e in store.labels.events()}
    assert set(reported) <= stored
    # derived state is consistent with the surviving events
    before = store.dump()["sample_state"]
    store.labels.rebuild_states()
    assert [r[:-1] for r in store.dump()["sample_state"]] == [r[:-1] for r in before]
    store.close()
