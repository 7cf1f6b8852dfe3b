"""Database passwords kept out of project files: libpq's password file.

A URL given with a password (``postgresql+psycopg://ann:SECRET@host:5433/labeler``) has the
password moved into libpq's password file (``PGPASSFILE``, else ``~/.pgpass``, or
``%APPDATA%\\postgresql\\pgpass.conf`` on Windows; mode 0600) and is used without it from then
on: libpq finds the password there at every connection, so ``project.json``, the recent
projects list, messages and logs only ever hold the URL without it. ``PGPASSWORD`` in the
environment works as well and is left to libpq.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import sqlalchemy as sa

log = logging.getLogger(__name__)

DEFAULT_PORT = 5432


def passfile_path() -> Path:
    """The password file libpq reads."""
    given = os.environ.get("PGPASSFILE")
    if given:
        return Path(given).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "postgresql" / "pgpass.conf"
    return Path.home() / ".pgpass"


def _escape(field: str) -> str:
    return field.replace("\\", "\\\\").replace(":", "\\:")


def _split(line: str) -> list[str]:
    """The fields of one passfile line (``\\:`` and ``\\\\`` unescaped)."""
    fields, cur, esc = [], [], False
    for ch in line:
        if esc:
            cur.append(ch)
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == ":":
            fields.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    fields.append("".join(cur))
    return fields


def entry_key(url: sa.engine.URL) -> tuple[str, str, str, str]:
    """host, port, database, user of a URL, as libpq matches them."""
    host = url.host or url.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    return (str(host), str(url.port or DEFAULT_PORT), url.database or "*", url.username or "*")


def save_password(url: sa.engine.URL) -> Path:
    """Write (or replace) the passfile line for ``url``'s host, port, database and user."""
    assert url.password is not None
    path = passfile_path()
    key = entry_key(url)
    kept: list[str] = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip().startswith("#") and tuple(_split(line)[:4]) == key:
                continue  # the old password of this role
            kept.append(line)
    kept.append(":".join(_escape(f) for f in (*key, str(url.password))))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(kept) + "\n")
    os.chmod(tmp, 0o600)  # libpq ignores a passfile others can read
    os.replace(tmp, path)
    return path


def lookup(url: sa.engine.URL) -> str | None:
    """The password the passfile holds for ``url`` (first matching line, ``*`` allowed)."""
    path = passfile_path()
    if not path.is_file():
        return None
    key = entry_key(url)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("#"):
            continue
        fields = _split(line)
        if len(fields) == 5 and all(f in ("*", k) for f, k in zip(fields[:4], key, strict=True)):
            return fields[4]
    return None


def _parse(text: str) -> tuple[sa.engine.URL | None, str]:
    url_text, sep, name = text.partition("#")
    try:
        url = sa.engine.make_url(url_text)
    except (sa.exc.ArgumentError, ValueError):
        return None, ""
    if url.password is None or url.drivername.startswith("sqlite"):
        return None, ""
    return url, sep + name


def _bare(url: sa.engine.URL) -> str:
    plain = sa.engine.URL.create(
        url.drivername, url.username, None, url.host, url.port, url.database, url.query
    )
    return plain.render_as_string(hide_password=False)


def without_password(text: str) -> str:
    """``text`` with a database URL's password left out (nothing saved anywhere)."""
    url, suffix = _parse(text)
    if url is None:
        return text
    return _bare(url) + suffix


def strip_password(text: str) -> str:
    """``text`` with the password of a database URL moved into the passfile (with a warning).
    Anything that is not a URL with a password comes back unchanged. A ``#project`` suffix
    is kept."""
    url, suffix = _parse(text)
    if url is None:
        return text
    path = save_password(url)
    log.warning(
        "warning: the password in the database URL was moved to %s (libpq's password file); "
        "the URL is kept without it",
        path,
    )
    return _bare(url) + suffix
