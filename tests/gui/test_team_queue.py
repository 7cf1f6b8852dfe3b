"""Team mode through the real annotation controller: several annotators on one project.

Each controller here is the app's own :class:`AnnotationController` on its own database
worker, labeling as fast as samples appear, so their fetches and claims race for real.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from PySide6.QtCore import QTimer

from labeler.gui.controller import AnnotationController
from labeler.store import Store
from labeler.store import schema as t
from labeler.store.database import utcnow
from tests.gui.gui_helpers import label_when_free, project_arg


def open_team(qtbot, store: Store, names: list[str]) -> list[AnnotationController]:  # type: ignore[no-untyped-def]
    controllers = [AnnotationController(n, retrainer_factory=lambda *a: None) for n in names]
    with qtbot.waitSignals([c.itemShown for c in controllers], timeout=30_000):
        for c in controllers:
            c.open(project_arg(store))
    return controllers


def free_for(store: Store, annotator: str, session: str | None) -> int:
    """Unlabeled samples that no one else holds: what ``annotator`` could still be given."""
    st, c = t.sample_state, t.sample_claim
    with store.read() as conn:
        labeled = set(
            conn.execute(
                sa.select(st.c.sample_id).where(
                    st.c.project_id == store.project_id, st.c.status == "labeled"
                )
            ).scalars()
        )
        held = conn.execute(
            sa.select(c).where(c.c.project_id == store.project_id, c.c.expires_at > utcnow())
        ).all()
    others = {
        r.sample_id
        for r in held
        if r.annotator != annotator or getattr(r, "session", session) != session
    }
    return len(set(store.samples.ids()) - labeled - others)


def label_everything(
    qtbot,
    store: Store,
    controllers: list[AnnotationController],  # type: ignore[no-untyped-def]
) -> list[tuple[str, int]]:
    """Every controller labels each sample it is shown at once, until the project is done.
    Returns the false "nothing left" screens: (annotator, samples still free for them)."""
    false_empty: list[tuple[str, int]] = []

    def check_empty(c: AnnotationController) -> None:
        if c.busy:  # the last label is still being saved: judge the screen after that
            QTimer.singleShot(2, lambda: check_empty(c))
            return
        left = free_for(store, c.annotator, c.session_id) if c.current is None else 0
        if left:
            false_empty.append((c.annotator, left))

    def on_shown(c: AnnotationController, item: object) -> None:
        if item is None:
            check_empty(c)
            return
        label_when_free(c, item, ["pos"])

    hooks: list[Callable[[object], None]] = []
    for c in controllers:
        hook = (lambda cc: lambda item: on_shown(cc, item))(c)
        hooks.append(hook)
        c.itemShown.connect(hook)
        if c.current is not None:
            c.label(["pos"])
        else:
            on_shown(c, None)
    total = store.samples.count()
    qtbot.waitUntil(
        lambda: (
            store.labels.labeled_count() == total
            and all(c.current is None and not c.busy for c in controllers)
        ),
        timeout=120_000,
    )
    for c, hook in zip(controllers, hooks, strict=True):
        c.itemShown.disconnect(hook)
    return false_empty


def close_all(controllers: list[AnnotationController]) -> None:
    for c in controllers:
        c.close()
        c.deleteLater()


def test_racing_annotators_never_see_a_false_nothing_left(qtbot, text_project) -> None:  # type: ignore[no-untyped-def]
    store = text_project(n=150)
    team = open_team(qtbot, store, ["ann", "bob", "cyd"])
    try:
        false_empty = label_everything(qtbot, store, team)
    finally:
        close_all(team)
    assert false_empty == []
    events = store.labels.events()
    labeled = [e.sample_id for e in events if e.action == "label"]
    assert len(labeled) == len(set(labeled)) == 150  # no sample handed to two annotators


def test_two_apps_of_one_login_share_nothing(qtbot, text_project) -> None:  # type: ignore[no-untyped-def]
    """Two machines with the same login are two sessions: they race like colleagues."""
    store = text_project(n=90)
    team = open_team(qtbot, store, ["ann", "ann"])
    try:
        assert team[0].session_id != team[1].session_id
        false_empty = label_everything(qtbot, store, team)
    finally:
        close_all(team)
    assert false_empty == []
    labeled = [e.sample_id for e in store.labels.events() if e.action == "label"]
    assert len(labeled) == len(set(labeled)) == 90


def test_an_empty_screen_refills_when_a_colleague_closes(qtbot, text_project) -> None:  # type: ignore[no-untyped-def]
    store = text_project(n=26)
    (ann,) = open_team(qtbot, store, ["ann"])  # holds the first 20 (prefetch)
    bob = AnnotationController("bob", retrainer_factory=lambda *a: None, poll_ms=50)
    try:
        with qtbot.waitSignal(bob.itemShown, timeout=30_000):
            bob.open(project_arg(store))
        bob_ids = {bob.current.sample_id, *(i.sample_id for i in bob.session.upcoming)}
        held = {ann.current.sample_id, *(i.sample_id for i in ann.session.upcoming)}
        assert len(bob_ids) == 6 and not bob_ids & held
        for _ in range(6):
            with qtbot.waitSignal(bob.itemShown, timeout=10_000) as shown:
                bob.label(["pos"])
            qtbot.waitUntil(lambda: not bob.busy, timeout=10_000)
        assert shown.args == [None]  # nothing free for bob: ann holds the rest
        assert free_for(store, "bob", bob.session_id) == 0
        assert bob.held_elsewhere == len(held) == 20  # so his screen says "not now"
        with qtbot.waitSignal(  # ann closes her app; bob's poll picks her samples up
            bob.itemShown, timeout=30_000, check_params_cb=lambda item: item is not None
        ) as shown:
            ann.close()
        assert shown.args[0].sample_id in held
    finally:
        close_all([ann, bob])


def test_claims_of_a_dead_app_are_released_when_its_annotator_returns(
    qtbot,
    text_project,  # type: ignore[no-untyped-def]
) -> None:
    store = text_project(n=40)
    ids = store.samples.ids()
    # a crashed app of ann's (and one of bob's) that stopped renewing its claims 5 min ago
    assert store.claims.claim("ann", ids[:20], session="crashed") == ids[:20]
    assert store.claims.claim("bob", ids[20:30], session="bobs-app") == ids[20:30]
    c = t.sample_claim
    with store.write() as conn:
        conn.execute(
            c.update()
            .where(c.c.project_id == store.project_id)
            .values(claimed_at=utcnow() - timedelta(minutes=5))
        )
    (ann,) = open_team(qtbot, store, ["ann"])
    try:
        qtbot.waitUntil(lambda: not ann.fetching, timeout=10_000)
        shown = [ann.current.sample_id, *(i.sample_id for i in ann.session.upcoming)]
        assert shown == ids[:20]  # her own samples again, at once, not in 15 minutes
        assert store.claims.held_by_others("carol") == set(ids[:20]) | set(ids[20:30])
    finally:
        close_all([ann])
    assert store.claims.held_by_others("carol") == set(ids[20:30])  # released on close


def _held_by(store: Store, session: str) -> set[int]:
    c = t.sample_claim
    with store.read() as conn:
        return set(
            conn.execute(
                sa.select(c.c.sample_id).where(
                    c.c.project_id == store.project_id, c.c.session == session
                )
            ).scalars()
        )


def test_samples_dropped_by_a_new_ranking_are_given_back(qtbot, text_project) -> None:  # type: ignore[no-untyped-def]
    """A colleague's model re-ranks the queue: the samples this app had prefetched but will
    no longer show are released at once (not held until the app closes)."""
    store = text_project(n=60)
    ids = store.samples.ids()
    ann = AnnotationController("ann", retrainer_factory=lambda *a: None, poll_ms=50)
    try:
        with qtbot.waitSignal(ann.itemShown, timeout=30_000):
            ann.open(project_arg(store))
        qtbot.waitUntil(lambda: not ann.fetching, timeout=10_000)
        before = _held_by(store, ann.session_id)
        assert before == set(ids[:20])  # the prefetch, in import order
        # a colleague's retrain ranks other samples first
        store.models.record_run(
            status="ok",
            started_at=utcnow(),
            finished_at=utcnow(),
            label_count=0,
            strategy="margin",
            queue=[(sid, 0.5) for sid in ids[30:60]],
            trainer="lead",
        )
        with qtbot.waitSignal(ann.queueSwapped, timeout=30_000):
            pass  # ann's poll sees the new run and swaps the new ranking in
        shown = {ann.current.sample_id, *(i.sample_id for i in ann.session.upcoming)}
        assert ann.current.sample_id == ids[0]  # the sample on screen stays
        assert {i.sample_id for i in ann.session.upcoming} <= set(ids[30:60])
        qtbot.waitUntil(lambda: _held_by(store, ann.session_id) == shown, timeout=10_000)
    finally:
        close_all([ann])


def test_a_heartbeat_never_frees_samples_a_fetch_just_queued(
    qtbot, text_project, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Flat out, a refill is often on the database worker when the claims heartbeat is
    submitted: the heartbeat must not give back what that refill claims (the samples go into
    this app's queue), or a colleague is handed them too and both label them."""
    from labeler.gui import queue_feed

    monkeypatch.setattr(queue_feed, "RENEW_EVERY_S", 0.0)  # the heartbeat is due at every poll
    store = text_project(n=60)
    (ann,) = open_team(qtbot, store, ["ann"])
    try:
        qtbot.waitUntil(lambda: not ann.fetching, timeout=10_000)
        # one turn of ann's event loop: a refill goes to the worker, then the heartbeat
        ann.feed.refill(force=True)
        ann.poll()
        qtbot.waitUntil(lambda: not ann.fetching and ann.runner.pending == 0, timeout=10_000)
        queued = {ann.current.sample_id, *(i.sample_id for i in ann.session.upcoming)}
        assert len(queued) == 40  # the first prefetch and the refill
        (bob,) = open_team(qtbot, store, ["bob"])
        try:
            bob_ids = {bob.current.sample_id, *(i.sample_id for i in bob.session.upcoming)}
            assert bob_ids and not bob_ids & queued  # never a sample still in ann's queue
        finally:
            close_all([bob])
        assert queued <= _held_by(store, ann.session_id)
        skipped = ann.current.sample_id  # a skipped sample goes back at the next idle poll
        with qtbot.waitSignal(ann.itemShown, timeout=10_000):
            ann.skip()
        qtbot.waitUntil(lambda: not ann.fetching and ann.runner.pending == 0, timeout=10_000)
        ann.poll()
        qtbot.waitUntil(lambda: skipped not in _held_by(store, ann.session_id), timeout=10_000)
        assert queued - {skipped} <= _held_by(store, ann.session_id)
    finally:
        close_all([ann])
