"""The connection state of an annotate session, on its own: a real database worker, and real
driver errors from a port where no server listens."""

from __future__ import annotations

import sqlalchemy as sa

from labeler.gui.connection_state import ConnectionState
from labeler.gui.tasks import TaskRunner
from labeler.store.database import make_engine


def refused() -> sa.exc.OperationalError:
    """A real error of a PostgreSQL engine whose server is not there."""
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("a connection to port 1 succeeded")


def test_probes_with_backoff_until_the_server_answers(qtbot) -> None:  # type: ignore[no-untyped-def]
    runner = TaskRunner()
    calls: list[int] = []
    error = refused()

    def probe() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise error
        return 0

    state = ConnectionState(runner, probe, backoff_s=(0.01, 0.02))
    lines: list[str] = []
    state.changed.connect(lines.append)
    assert state.report(error)
    assert state.lost and state.message.startswith("Reconnecting: cannot reach the database")
    assert "127.0.0.1:1 (connection refused)" in state.message
    with qtbot.waitSignal(state.restored, timeout=10_000):
        pass
    assert len(calls) == 3 and not state.lost and state.message == ""
    assert lines == [lines[0], ""]  # said once while away, cleared once
    assert not state.report(ValueError("not the server"))  # other errors are not its business
    state.close()
    runner.shutdown()
