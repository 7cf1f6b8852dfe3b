"""One trainer per project, seen from the apps: two annotators' controllers with real
background retraining (worker processes) on one project, and a third member (the lead)
holding the trainer lock. Their requests are deferred to the lead and coalesce; the lead's
model and ranking reach both apps through the store, with the lead's name."""

from __future__ import annotations

import pytest

from labeler.gui.controller import AnnotationController
from labeler.learning.training import train_once
from labeler.store.train_lease import TrainLease, current_trainer
from tests.gui.gui_helpers import assert_no_worker_threads, project_arg
from tests.gui.test_team_queue import close_all

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_apps_defer_to_the_trainer_and_pick_up_its_model(qtbot, text_project) -> None:  # type: ignore[no-untyped-def]
    store = text_project(n=60)
    ids = store.samples.ids()
    for i, sid in enumerate(ids[:24]):
        store.labels.add(sid, ["pos" if i % 2 else "neg"], "seed")
    lead = TrainLease(store, "lead", "lead-session")
    assert lead.acquire()
    team = [AnnotationController(n, poll_ms=100) for n in ("ann", "bob")]
    messages: dict[str, list[str]] = {c.annotator: [] for c in team}
    for c in team:
        c.message.connect(messages[c.annotator].append)
    try:
        with qtbot.waitSignals([c.itemShown for c in team], timeout=30_000):
            for c in team:
                c.open(project_arg(store))
        # each app asked for a retrain at open (no model yet): the lead holds the lock
        qtbot.waitUntil(
            lambda: all(any("lead is retraining" in m for m in ms) for ms in messages.values()),
            timeout=30_000,
        )
        assert current_trainer(store).holder == "lead"
        run = train_once(store.location, trainer="lead")
        assert run.status == "ok" and run.model_version == 1
        assert lead.release()  # the apps' requests were noted: one more retrain is due
        qtbot.waitUntil(
            lambda: all(c.model is not None and c.model.version == 1 for c in team),
            timeout=30_000,
        )
        assert [c.model.trained_by for c in team] == ["lead", "lead"]
        assert all(c.current is not None for c in team)
        # the lead's ranking is what they label next
        qtbot.waitUntil(
            lambda: all(
                c.session.upcoming
                and {i.provenance.model_version for i in c.session.upcoming} == {1}
                for c in team
            ),
            timeout=30_000,
        )
    finally:
        close_all(team)
    assert [r.status for r in store.models.runs()] == ["ok"]  # no app trained meanwhile
    assert_no_worker_threads()
