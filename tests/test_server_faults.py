"""Commands and the store against a PostgreSQL server that is frozen, gone or ends its
backends. Faults are real: a TCP proxy started here stops forwarding (the shared server is
never stopped), or an administrator connection calls ``pg_terminate_backend``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from labeler.cli import main
from labeler.store import Store
from labeler.store.database import ServerTimeouts, make_engine
from labeler.store.faults import server_problem, storage_problem
from tests.fault_proxy import FaultProxy, terminate_backends

PG = [pytest.param("postgres", marks=pytest.mark.postgres)]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def proxy(pg_server_url: str) -> Iterator[FaultProxy]:
    p = FaultProxy.for_url(pg_server_url)
    yield p
    p.close()


def through(proxy: FaultProxy, store: Store) -> str:
    return f"{proxy.url(store.location.url)}#{store.location.name}"


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "2"}
    return subprocess.run(
        [sys.executable, "-m", "labeler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,  # a hang fails the test instead of stalling the suite
        cwd=REPO,
        env=env,
    )


def fill(store: Store, n: int = 40) -> list[int]:
    from tests.gui.gui_helpers import fill_text

    return fill_text(store, n)


@pytest.mark.parametrize("backend", PG)
def test_info_against_a_frozen_server_says_so_in_one_line(make_store, proxy) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    fill(store, 5)
    ok = run_cli("info", through(proxy, store))
    assert ok.returncode == 0, ok.stderr
    proxy.pause()
    frozen = run_cli("info", through(proxy, store))
    assert frozen.returncode == 2
    lines = frozen.stderr.strip().splitlines()
    assert len(lines) == 1, frozen.stderr
    assert f"127.0.0.1:{proxy.port}" in lines[0] and "no answer in time" in lines[0]
    assert "Traceback" not in frozen.stderr and "psycopg" not in lines[0]


@pytest.mark.parametrize("backend", PG)
def test_info_with_no_server_listening(make_store, proxy) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    port = proxy.port
    proxy.close()  # nothing listens on the port any more
    gone = run_cli("info", through(proxy, store))
    assert gone.returncode == 2
    assert gone.stderr.strip() == (
        f"labeler: error: cannot open project {store.location.name!r}: cannot reach the "
        f"database server 127.0.0.1:{port} (connection refused)"
    )


@pytest.mark.parametrize("backend", PG)
def test_train_losing_its_server_mid_run_exits_2(make_store, proxy, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The server goes away (connections cut, new ones unanswered) while ``labeler train``
    writes its ranking: one line naming the server, exit 2 (was 70, "internal error")."""
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    store = make_store()
    ids = fill(store, 40)
    for i, sid in enumerate(ids[:12]):
        store.labels.add(sid, ["pos" if i % 2 else "neg"], "ann")
    cut = []

    def cut_the_server(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        words = statement.lstrip().upper()
        if not cut and words.startswith(("INSERT", "DELETE", "UPDATE")) and "QUEUE_ITEM" in words:
            cut.append(statement)
            proxy.drop()
            proxy.pause()

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", cut_the_server)
    try:
        status = main(["train", through(proxy, store)])
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", cut_the_server)
    err = capsys.readouterr().err.strip().splitlines()
    assert cut, "the run never reached the queue"
    assert status == 2
    assert len(err) == 1 and f"127.0.0.1:{proxy.port}" in err[0], err
    assert "internal error" not in err[0]


@pytest.mark.parametrize("backend", PG)
def test_terminated_backends(make_store, pg_server_url) -> None:  # type: ignore[no-untyped-def]
    """A backend ended while it works is one line naming the server; pooled connections the
    server ended are replaced unseen (pre-ping); ``labeler info`` after it works."""
    store = make_store()
    fill(store, 5)
    database = sa.engine.make_url(pg_server_url).database
    engine = make_engine(pg_server_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            assert terminate_backends(pg_server_url, database) >= 1
            with pytest.raises(sa.exc.OperationalError) as lost:
                conn.execute(sa.text("SELECT 1"))
        host = sa.engine.make_url(pg_server_url)
        assert server_problem(lost.value) == (
            f"lost the connection to the database server {host.host}:{host.port or 5432} "
            "(it shut down or ended it)"
        )
        with engine.connect() as conn:  # the pool hands out a fresh connection
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
    assert store.labels.labeled_count() == 0
    assert terminate_backends(pg_server_url, database) >= 1  # the store's pooled connection
    assert store.labels.labeled_count() == 0  # replaced unseen
    info = run_cli("info", f"{store.location.url}#{store.location.name}")
    assert info.returncode == 0, info.stderr


@pytest.mark.parametrize("backend", PG)
def test_statement_and_lock_timeouts_are_named(make_store, pg_server_url) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    engine = make_engine(pg_server_url, ServerTimeouts(statement_s=0.5, lock_s=0.1, answer_s=5))
    host = sa.engine.make_url(pg_server_url)
    server = f"{host.host}:{host.port or 5432}"
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.OperationalError) as slow:
            conn.execute(sa.text("SELECT pg_sleep(2)"))
        assert server_problem(slow.value) == (
            f"the database server {server} cancelled a statement that took too long"
        )
        with store.write() as holder:  # a colleague's transaction holds the project row
            holder.execute(sa.text("SELECT id FROM project FOR UPDATE"))
            with engine.connect() as conn, pytest.raises(sa.exc.OperationalError) as locked:
                conn.execute(sa.text("SELECT id FROM project FOR UPDATE"))
        assert (
            server_problem(locked.value)
            == f"waited too long for a lock on the database server {server}"
        )
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", *PG])
def test_a_retried_label_is_recorded_once(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    sid = fill(store, 3)[0]
    first = store.labels.add(sid, ["pos"], "ann", time_spent_ms=1234, session="s1")
    # the retry of that very attempt (its answer was lost): the same event, nothing written
    assert (
        store.labels.add(sid, ["pos"], "ann", time_spent_ms=1234, session="s1", retry=True) == first
    )
    assert [e.id for e in store.labels.events(sample_id=sid)] == [first]
    # a different label, or the same one after an undo, is a new event
    store.labels.undo("ann", session="s1")
    again = store.labels.add(sid, ["pos"], "ann", time_spent_ms=1234, session="s1", retry=True)
    assert again != first
    other = store.labels.add(sid, ["neg"], "ann", time_spent_ms=1234, session="s1", retry=True)
    assert other not in (first, again)
    assert store.labels.state(sid).labels == ("neg",)


def test_server_problem_leaves_other_errors_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.OperationalError) as exc:
            conn.execute(sa.text("SELECT * FROM no_such_table"))
    finally:
        engine.dispose()
    assert server_problem(exc.value) is None
    assert server_problem(ValueError("connection")) is None


def test_a_full_disk_under_an_sqlite_project_is_one_line(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """SQLite's own "database or disk is full" (the file capped at its size with
    ``max_page_count``, which SQLite reports exactly as a full disk): ``labeler import``
    names the file in one line, exits 2, and the project keeps what it had."""
    project = tmp_path / "proj"
    assert main(["init", str(project), "--modality", "text", "--labels", "a,b"]) == 0
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "id,text\n" + "".join(f"r{i},{'word ' * 400}{i}\n" for i in range(400)), encoding="utf-8"
    )

    def cap(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    capsys.readouterr()
    sa.event.listen(sa.pool.Pool, "connect", cap)
    try:
        status = main(["import", str(project), str(rows)])
    finally:
        sa.event.remove(sa.pool.Pool, "connect", cap)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2, err
    assert len(err) == 1 and err[0].startswith("labeler: error: the disk holding "), err
    assert err[0].endswith(" is full")
    with Store.open(project) as store:
        assert store.samples.count() == 0


def test_storage_problem_names_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.db"
    engine = make_engine(f"sqlite:///{path}")

    @sa.event.listens_for(engine, "connect")
    def _cap(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA max_page_count = 3")

    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x BLOB)")
            with pytest.raises(sa.exc.OperationalError) as full:
                conn.exec_driver_sql("INSERT INTO t VALUES (randomblob(200000))")
    finally:
        engine.dispose()
    assert storage_problem(full.value) == f"the disk holding {path} is full"
    assert server_problem(full.value) is None
