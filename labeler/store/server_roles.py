"""Roles on the embedded team server: one login role per annotator, all members of one group
role that owns the team database.

Each annotator's role logs in with its own password (SCRAM-SHA-256) and is set to act as the
group role ``labeler_team`` (``ALTER ROLE ... SET role``), so the tables any member creates
belong to the team and every member can label in every project of the database, while the
server still knows who connected. A password reaches the server only as a SCRAM verifier
computed here (libpq's ``PQencryptPasswordConn``), so it can never appear in the server's log.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from labeler.store.server import TEAM_DATABASE, ServerError, ServerStatus

TEAM_ROLE = "labeler_team"
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,62}$")
RESERVED = {"postgres", TEAM_ROLE, "public"}


def _admin(st: ServerStatus, database: str = "postgres") -> Any:
    """A superuser connection through the server's Unix socket (the only way in as postgres)."""
    import psycopg

    if not st.running:
        raise ServerError(f"{st.folder}: the server is not running ('labeler server start')")
    try:
        return psycopg.connect(
            host=str(st.socket_dir),
            port=st.port,
            user="postgres",
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        )
    except psycopg.OperationalError as exc:
        raise ServerError(f"cannot reach the server in {st.folder}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def ensure_team_database(st: ServerStatus) -> None:
    """The group role and the team database it owns exist."""
    from psycopg import sql

    with _admin(st) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (TEAM_ROLE,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(TEAM_ROLE)))
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (st.database,)
        ).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                    sql.Identifier(st.database), sql.Identifier(TEAM_ROLE)
                )
            )


def scram_verifier(conn: Any, user: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of ``password`` (what the server stores), computed here."""
    return conn.pgconn.encrypt_password(password.encode(), user.encode(), b"scram-sha-256").decode()


def users(st: ServerStatus) -> list[str]:
    """Annotator roles on the server."""
    with _admin(st) as conn:
        rows = conn.execute(
            "SELECT r.rolname FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid "
            "JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = %s ORDER BY 1",
            (TEAM_ROLE,),
        ).fetchall()
    return [r[0] for r in rows]


def add_user(st: ServerStatus, name: str, *, reset: bool = False) -> str:
    """Make the login role ``name`` (or give an existing one a new password with ``reset``);
    returns its new password, which is stored nowhere on this machine."""
    from psycopg import sql

    if not _NAME_RE.match(name) or name in RESERVED:
        raise ServerError(
            f"{name!r}: a user name is lower-case letters, digits, '_', '.', '-' "
            f"(at most 63, not {', '.join(sorted(RESERVED))})"
        )
    password = secrets.token_urlsafe(18)
    with _admin(st) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if exists and not reset:
            raise ServerError(
                f"user {name!r} exists; 'labeler server add-user {name} --reset' gives a new password"
            )
        verifier = scram_verifier(conn, name, password)
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(verifier)
            )
        )
        if not exists:
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(TEAM_ROLE), sql.Identifier(name))
            )
            conn.execute(
                sql.SQL("ALTER ROLE {} IN DATABASE {} SET role = {}").format(
                    sql.Identifier(name), sql.Identifier(st.database), sql.Literal(TEAM_ROLE)
                )
            )
    return password


__all__ = ["TEAM_DATABASE", "TEAM_ROLE", "add_user", "ensure_team_database", "users"]
