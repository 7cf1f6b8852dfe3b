"""The annotate session through real PostgreSQL faults: a frozen server (a TCP proxy that
stops forwarding, started here: the shared server itself is never stopped), a commit whose
answer is lost on the way back, and backends ended with ``pg_terminate_backend``.

The app's own controller and annotate view run on the offscreen platform; the timeouts are
short so a fault is noticed in seconds (the product's are in
``labeler.store.database.INTERACTIVE_TIMEOUTS``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt

from labeler.gui.annotate_view import AnnotateView
from labeler.gui.controller import COMEBACK_GRACE_S, AnnotationController
from labeler.gui.leave_guard import KEEP_OPEN, LOSE_IT
from labeler.gui.main_window import MainWindow
from labeler.gui.session import Item
from labeler.store import Store
from labeler.store.database import ServerTimeouts
from tests.fault_proxy import FaultProxy, terminate_backends

pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)]
)

FAST = ServerTimeouts(connect_s=2, statement_s=1, lock_s=1, answer_s=2)
NOTHING_LEFT = "Nothing left to label"


OPENED: list[AnnotationController] = []


def controller(**kw: object) -> AnnotationController:
    c = AnnotationController(
        "ann",
        retrainer_factory=lambda *a: None,
        poll_ms=3_600_000,
        **kw,  # type: ignore[arg-type]
    )
    OPENED.append(c)
    return c


@pytest.fixture(autouse=True)
def _close_controllers() -> Iterator[None]:
    """Every controller is closed, also when a test fails half-way (no worker left behind)."""
    yield
    while OPENED:
        OPENED.pop().close()


@pytest.fixture
def proxy(pg_server_url: str) -> Iterator[FaultProxy]:
    p = FaultProxy.for_url(pg_server_url)
    yield p
    p.close()


class Session:
    """A controller and its annotate view on a project reached through the proxy; records
    every message the view showed in place of a sample."""

    def __init__(self, qtbot, store: Store, proxy: FaultProxy, **kw: object) -> None:  # type: ignore[no-untyped-def]
        self.proxy = proxy
        kw.setdefault("timeouts", FAST)
        self.controller = c = controller(**kw)
        self.views: list[AnnotateView] = []
        self.screens: list[str] = []
        c.projectOpened.connect(lambda ov: self.views.append(AnnotateView(c, ov, 12)))
        with qtbot.waitSignal(c.itemShown, timeout=30_000, check_params_cb=bool):
            c.open(f"{proxy.url(store.location.url)}#{store.location.name}")
        self.view = self.views[0]
        qtbot.addWidget(self.view)
        c.itemShown.connect(self._record)
        c.connectionChanged.connect(self._record)

    def _record(self, *_args: object) -> None:
        display = self.view.display
        if display.currentWidget() is display.message_view:
            self.screens.append(display.message_view.text())


def label_events(store: Store, sample_id: int) -> list[tuple[str, ...] | None]:
    return [e.labels for e in store.labels.events(sample_id=sample_id) if e.action == "label"]


def _opened(qtbot, store: Store, proxy: FaultProxy) -> tuple[Store, AnnotationController, Item]:  # type: ignore[no-untyped-def]
    """``store`` opened through the proxy: the store, its controller and the first sample."""
    c = Session(qtbot, store, proxy).controller
    first = c.current
    assert first is not None
    return store, c, first


def lose_the_next_answer(c: AnnotationController, proxy: FaultProxy) -> None:
    """The next COMMIT of ``c``'s store reaches the server, but its answer is held."""
    assert c.store is not None
    armed = [True]

    @sa.event.listens_for(c.store.engine, "commit")
    def _lose_the_answer(_conn) -> None:  # type: ignore[no-untyped-def]
        if armed:
            armed.clear()
            proxy.hold_replies()


def once(fn: Callable[[], None]) -> Callable[..., None]:
    done = []

    def hook(*_args: object) -> None:
        if not done:
            done.append(True)
            fn()

    return hook


def test_frozen_server_while_the_prefetch_runs_out(qtbot, text_project, proxy) -> None:  # type: ignore[no-untyped-def]
    store = text_project(n=12)
    s = Session(qtbot, store, proxy, feed_sizes=(2, 1))
    c = s.controller
    first = c.current
    assert first is not None
    # the server freezes right after the label that empties the prefetch is saved, before
    # the refill reaches it
    c.labelSaved.connect(once(proxy.pause))
    assert c.label(["pos"])
    qtbot.waitUntil(lambda: c.connection is not None and c.connection.lost, timeout=30_000)
    second = c.current
    assert second is not None and second.sample_id != first.sample_id
    assert c.session is not None and not c.session.upcoming  # nothing prefetched any more
    line = c.reconnecting
    assert line.startswith("Reconnecting: ") and f"127.0.0.1:{proxy.port}" in line
    assert s.view.connection_banner.text() == f"⚠ {line}"
    assert s.view.connection_banner.isVisibleTo(s.view)
    assert c.fetching  # an empty queue now means "wait", not "done"

    # a label typed while the server is away: said plainly, kept, not lost
    with qtbot.waitSignal(c.failure, timeout=30_000) as failed:
        assert c.label(["neg"])
    message = failed.args[0]
    assert message.startswith("Label not saved: ")
    assert "\n" not in message and "psycopg" not in message and "consuming" not in message
    assert c.current is second
    assert label_events(store, second.sample_id) == []

    # the server answers again: the label is saved by itself, samples come, the banner goes
    with qtbot.waitSignal(c.labelSaved, timeout=60_000) as saved:
        proxy.resume()
    assert saved.args[0] == second.sample_id
    qtbot.waitUntil(
        lambda: (
            c.current is not None and c.current.sample_id not in (first.sample_id, second.sample_id)
        ),
        timeout=30_000,
    )
    qtbot.waitUntil(lambda: not s.view.connection_banner.isVisibleTo(s.view), timeout=30_000)
    assert c.reconnecting == ""
    assert label_events(store, second.sample_id) == [("neg",)]
    assert label_events(store, first.sample_id) == [("pos",)]
    assert not [text for text in s.screens if NOTHING_LEFT in text]
    c.close()


def test_empty_screen_waits_for_the_server(qtbot, text_project, proxy) -> None:  # type: ignore[no-untyped-def]
    """The last prefetched sample is labeled and the server freezes: the screen says it is
    waiting for the server (never "nothing left") and fills itself when the server is back."""
    store = text_project(n=12)
    s = Session(qtbot, store, proxy, feed_sizes=(1, 1))
    c = s.controller
    first = c.current
    assert first is not None and c.session is not None and not c.session.upcoming
    c.labelSaved.connect(once(proxy.pause))
    with qtbot.waitSignal(c.itemShown, timeout=30_000) as shown:
        assert c.label(["pos"])
    assert shown.args[0] is None  # nothing was prefetched: the screen is empty
    qtbot.waitUntil(lambda: bool(c.reconnecting), timeout=30_000)
    text = s.view.display.message_view.text()
    assert "Waiting for the database server" in text and NOTHING_LEFT not in text
    with qtbot.waitSignal(c.itemShown, timeout=60_000, check_params_cb=bool):
        proxy.resume()
    assert c.current is not None and c.current.sample_id != first.sample_id
    assert not [t for t in s.screens if NOTHING_LEFT in t]
    c.close()


def test_a_slow_answer_is_shown_before_the_server_is_given_up(qtbot, text_project, proxy) -> None:  # type: ignore[no-untyped-def]
    """A frozen server is given up only after the answer deadline; meanwhile the window
    already says it is waiting for the server, and clears it when the answer comes."""
    store = text_project(n=12)
    patient = ServerTimeouts(connect_s=2, statement_s=20, lock_s=5, answer_s=60)
    s = Session(qtbot, store, proxy, timeouts=patient)
    c = s.controller
    item = c.current
    assert item is not None
    proxy.pause()
    assert c.label(["pos"])
    qtbot.waitUntil(
        lambda: c.reconnecting.startswith("Waiting for the database server"), timeout=30_000
    )
    assert f"127.0.0.1:{proxy.port}: no answer for" in c.reconnecting
    assert s.view.connection_banner.isVisibleTo(s.view)
    with qtbot.waitSignal(c.labelSaved, timeout=30_000):
        proxy.resume()
    qtbot.waitUntil(lambda: c.reconnecting == "", timeout=10_000)
    assert not s.view.connection_banner.isVisibleTo(s.view)
    assert label_events(store, item.sample_id) == [("pos",)]
    c.close()


def test_commit_whose_answer_is_lost_is_not_recorded_twice(qtbot, text_project, proxy) -> None:  # type: ignore[no-untyped-def]
    """The server commits the label but its answer never arrives: the app says "not saved";
    the annotator presses the key again, and that retry finds the committed event instead of
    writing a second one."""
    store, c, item = _opened(qtbot, text_project(n=12), proxy)
    lose_the_next_answer(c, proxy)
    with qtbot.waitSignal(c.failure, timeout=30_000) as failed:
        assert c.label(["neutral"])
    assert failed.args[0].startswith("Label not saved: ")
    # the server did commit it: this is the case a blind retry would record twice
    assert label_events(store, item.sample_id) == [("neutral",)]
    assert c.current is item
    qtbot.wait(int(COMEBACK_GRACE_S * 1000) + 100)  # the annotator reads the message first
    proxy.resume()
    with qtbot.waitSignal(c.labelSaved, timeout=60_000) as saved:
        assert c.label(["neutral"])  # the annotator presses the key again
    assert saved.args[0] == item.sample_id
    assert label_events(store, item.sample_id) == [("neutral",)]
    assert c.session is not None and c.session.stats.labels == 1
    c.close()


def test_a_sample_that_comes_back_takes_no_key_meant_for_the_next(
    qtbot, text_project, proxy
) -> None:  # type: ignore[no-untyped-def]
    """The label of sample A is in flight (the screen already shows B) when the server goes
    away. A key for B is refused ("press the key again"); A's label fails and A comes back;
    the annotator, pressing again for B, must not label A with B's label."""
    store, c, first = _opened(qtbot, text_project(n=12), proxy)
    refusals: list[str] = []
    c.refused.connect(refusals.append)
    proxy.pause()
    assert c.label(["neg"])  # A: optimistic, B shows at once
    assert c.current is not None and c.current.sample_id != first.sample_id
    assert not c.label(["pos"])  # meant for B, while A's label is in flight
    assert refusals[-1].startswith("Still saving")
    with qtbot.waitSignal(c.failure, timeout=30_000):
        pass
    assert c.current is not None and c.current.sample_id == first.sample_id  # A came back
    assert not c.label(["pos"])  # pressed again at once: still meant for B
    assert "came back" in refusals[-1] and first.sample.external_id in refusals[-1]
    proxy.resume()
    # A's own label is saved when the server answers; B's label went nowhere
    with qtbot.waitSignal(c.labelSaved, timeout=60_000) as saved:
        pass
    assert saved.args[0] == first.sample_id
    assert label_events(store, first.sample_id) == [("neg",)]
    qtbot.waitUntil(lambda: c.current is not None and c.current.sample_id != first.sample_id)
    c.close()


def test_a_skip_shows_the_next_sample_at_once_and_comes_back_if_not_saved(
    qtbot, text_project, proxy
) -> None:  # type: ignore[no-untyped-def]
    """Space shows the next sample before the skip is committed; a skip the server never
    saved brings its sample back, says so, and is not recorded; pressed again, it saves."""
    store, c, first = _opened(qtbot, text_project(n=12), proxy)
    messages: list[str] = []
    c.message.connect(messages.append)
    proxy.pause()
    assert c.skip()
    assert c.current is not None and c.current.sample_id != first.sample_id  # at once
    with qtbot.waitSignal(c.failure, timeout=30_000) as failed:
        pass
    assert failed.args[0].startswith("Change not saved: ")
    assert c.current is not None and c.current.sample_id == first.sample_id
    assert f"Sample {first.sample.external_id} is shown again: its skip was not saved" in messages
    assert c.unsaved_label() is None  # a skip is not worth asking about at close
    assert [e for e in store.labels.events(sample_id=first.sample_id)] == []
    proxy.resume()
    qtbot.waitUntil(lambda: c.reconnecting == "", timeout=30_000)
    qtbot.wait(int(COMEBACK_GRACE_S * 1000) + 100)
    assert c.skip()
    qtbot.waitUntil(lambda: not c.busy, timeout=30_000)
    assert [e.action for e in store.labels.events(sample_id=first.sample_id)] == ["skip"]
    assert c.session is not None and c.session.stats.skips == 1
    c.close()


def _click(qtbot, box, text: str) -> None:  # type: ignore[no-untyped-def]
    (button,) = [b for b in box.buttons() if b.text() == text]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_closing_with_an_unsaved_label_asks_first(qtbot, text_project, proxy) -> None:  # type: ignore[no-untyped-def]
    """A label kept after a failed save is lost by closing: the window asks. "Keep the
    project open" keeps it (saved when the server answers); "Close and lose the label"
    closes."""
    store = text_project(n=12)
    w = MainWindow(retrainer_factory=lambda *a: None, timeouts=FAST)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.firstItemShown, timeout=30_000):
        w.open_project(f"{proxy.url(store.location.url)}#{store.location.name}")
    c = w.controller
    assert c is not None and c.unsaved_label() is None
    first = c.current
    assert first is not None
    proxy.pause()
    with qtbot.waitSignal(c.failure, timeout=30_000):
        assert c.label(["neg"])
    unsaved = c.unsaved_label()
    assert unsaved is not None and first.sample.external_id in unsaved
    w.close()
    box = w.leave_box
    assert w.isVisible() and box is not None and box.isVisible()
    assert first.sample.external_id in box.text() and "closing now loses it" in box.text()
    _click(qtbot, box, KEEP_OPEN)
    assert w.isVisible() and w.controller is c
    with qtbot.waitSignal(c.labelSaved, timeout=60_000) as saved:
        proxy.resume()  # the kept label is saved when the server answers
    assert saved.args[0] == first.sample_id and c.unsaved_label() is None
    assert label_events(store, first.sample_id) == [("neg",)]

    qtbot.waitUntil(lambda: c.current is not None and c.current.sample_id != first.sample_id)
    second = c.current
    assert second is not None
    proxy.pause()
    with qtbot.waitSignal(c.failure, timeout=30_000):
        assert c.label(["pos"])
    w.close()
    box = w.leave_box
    assert box is not None and second.sample.external_id in box.text()
    _click(qtbot, box, LOSE_IT)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=30_000)
    assert w.controller is None
    proxy.resume()
    assert label_events(store, second.sample_id) == []


def test_a_skip_whose_answer_is_lost_is_not_recorded_twice(qtbot, text_project, proxy) -> None:  # type: ignore[no-untyped-def]
    """The server commits the skip but its answer never arrives: the sample comes back, and
    the annotator's second Space finds the committed skip instead of writing another."""
    store, c, item = _opened(qtbot, text_project(n=12), proxy)
    lose_the_next_answer(c, proxy)
    with qtbot.waitSignal(c.failure, timeout=30_000):
        assert c.skip()
    assert [e.action for e in store.labels.events(sample_id=item.sample_id)] == ["skip"]
    assert c.current is not None and c.current.sample_id == item.sample_id
    qtbot.wait(int(COMEBACK_GRACE_S * 1000) + 100)
    proxy.resume()
    assert c.skip()  # Space again
    qtbot.waitUntil(lambda: not c.busy, timeout=60_000)
    assert [e.action for e in store.labels.events(sample_id=item.sample_id)] == ["skip"]
    assert c.current is not None and c.current.sample_id != item.sample_id
    assert c.session is not None and c.session.stats.skips == 1
    c.close()


def test_terminated_backends_are_replaced_unseen(qtbot, text_project, pg_server_url) -> None:  # type: ignore[no-untyped-def]
    """Every backend of the project's database ended by an administrator between two labels:
    the next label and fetch go through on fresh connections, with no message."""
    store = text_project(n=30)
    c = controller()
    with qtbot.waitSignal(c.itemShown, timeout=30_000, check_params_cb=bool):
        c.open(f"{store.location.url}#{store.location.name}")
    failures: list[str] = []
    c.failure.connect(lambda line, _details: failures.append(line))
    database = sa.engine.make_url(pg_server_url).database
    for _ in range(3):
        assert terminate_backends(pg_server_url, database) >= 1
        item = c.current
        assert item is not None
        with qtbot.waitSignal(c.labelSaved, timeout=30_000):
            assert c.label(["pos"])
        qtbot.waitUntil(lambda: c.current is not None and not c.busy, timeout=30_000)
    assert failures == []
    assert c.reconnecting == ""
    c.close()


def test_claims_left_by_a_close_while_down_are_released_at_next_open(
    qtbot, text_project, proxy
) -> None:  # type: ignore[no-untyped-def]
    store = text_project(n=40)
    s = Session(qtbot, store, proxy)
    c = s.controller
    session_id = c.session_id
    held = {sid for (sid,) in _claims(store, session_id)}
    assert held  # the prefetch holds samples
    proxy.pause()
    c.label(["pos"])
    qtbot.waitUntil(lambda: c.connection is not None and c.connection.lost, timeout=30_000)
    c.close()  # the server is away: nothing waits on it; the claims stay
    assert {sid for (sid,) in _claims(store, session_id)} == held
    proxy.resume()
    again = controller()
    with qtbot.waitSignal(again.itemShown, timeout=30_000, check_params_cb=bool):
        again.open(f"{proxy.url(store.location.url)}#{store.location.name}")
    assert _claims(store, session_id) == []
    again.close()


def _claims(store: Store, session: str) -> list[tuple[int]]:
    from labeler.store import schema as t

    c = t.sample_claim
    with store.read() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(c.c.sample_id).where(
                    c.c.project_id == store.project_id, c.c.session == session
                )
            ).all()
        ]


def test_undo_whose_answer_is_lost_is_not_done_twice(qtbot, text_project, proxy) -> None:  # type: ignore[no-untyped-def]
    """Two labels, then an undo the server commits but whose answer is lost: the app says
    "not saved"; the annotator presses Ctrl+Z again, and that retry finds the committed undo
    instead of undoing the first label as well."""
    store = text_project(n=12)
    s = Session(qtbot, store, proxy)
    c = s.controller
    assert c.store is not None
    first = c.current
    with qtbot.waitSignal(c.labelSaved, timeout=30_000):
        assert c.label(["neutral"])
    second = c.current
    with qtbot.waitSignal(c.labelSaved, timeout=30_000):
        assert c.label(["pos"])
    assert first is not None and second is not None
    qtbot.waitUntil(lambda: c.runner.pending == 0, timeout=30_000)  # the undo commits next
    lose_the_next_answer(c, proxy)
    with qtbot.waitSignal(c.failure, timeout=30_000) as failed:
        assert c.undo()
    assert failed.args[0].startswith("Change not saved: ")
    # the server did undo the second label
    assert store.labels.state(second.sample_id).status == "unlabeled"
    assert store.labels.state(first.sample_id).labels == ("neutral",)
    proxy.resume()
    with qtbot.waitSignal(c.itemShown, timeout=60_000) as shown:
        assert c.undo()  # the annotator presses Ctrl+Z again
    assert shown.args[0].sample_id == second.sample_id
    assert store.labels.state(first.sample_id).labels == ("neutral",)  # not undone too
    assert [e.action for e in store.labels.events()].count("undo") == 1
    # a further undo is a new one and takes back the first label
    with qtbot.waitSignal(c.itemShown, timeout=30_000) as shown:
        assert c.undo()  # shown at once (this session's last label), then undone
    assert shown.args[0].sample_id == first.sample_id
    qtbot.waitUntil(lambda: not c.busy, timeout=30_000)
    assert c.current is not None and c.current.sample_id == first.sample_id
    assert store.labels.state(first.sample_id).status == "unlabeled"
    c.close()
