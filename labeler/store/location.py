"""Where a project lives: a folder with ``.labeler/project.db`` (SQLite) or a database URL
plus a name.

The SQLite files sit in the hidden ``.labeler/`` folder, never beside the user's files: a
process that opens and closes any of them through a descriptor of its own drops every POSIX
lock SQLite holds on them (a file dialog reading the start of each file to guess its type
did exactly that and corrupted projects). Folders made by earlier versions keep
``project.db`` at the top until :func:`labeler.store.layout.relocate_legacy` moves it.

A team-mode project folder holds ``project.json`` naming the database URL and project name,
so every command can be given the folder either way. A bare ``postgresql+psycopg://...#NAME``
is accepted too; its artifacts then go to a per-user cache folder.

A URL given with a password never keeps it: the password goes to libpq's password file
(:mod:`labeler.store.passfile`, with a warning) and the location holds the URL without it, so
neither ``project.json`` nor any message or log can show it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from labeler.errors import ProjectError
from labeler.store.passfile import strip_password

POINTER_FILE = "project.json"
DB_DIR = ".labeler"  # the database, its WAL and shared-memory files, and its backups
DB_FILE = "project.db"


def db_file(folder: Path) -> Path:
    """Where a new (or relocated) project's database lives in ``folder``."""
    return folder / DB_DIR / DB_FILE


def legacy_db_file(folder: Path) -> Path:
    """Where projects made before the ``.labeler/`` folder keep their database."""
    return folder / DB_FILE


def existing_db_file(folder: Path) -> Path | None:
    """The project's database file in ``folder`` (the current layout first), if any."""
    for path in (db_file(folder), legacy_db_file(folder)):
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class ProjectLocation:
    """Resolved address of a project: the SQLAlchemy URL, the project name and its artifact folder."""

    url: str
    name: str
    folder: Path

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def db_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        return Path(sa_url_path(self.url))

    def to_json(self) -> dict[str, str]:
        return {"url": self.url, "name": self.name, "folder": str(self.folder)}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> ProjectLocation:
        return cls(url=data["url"], name=data["name"], folder=Path(data["folder"]))


def _cache_dir() -> Path:
    base = os.environ.get("LABELER_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "labeler" if base else Path.home() / ".cache" / "labeler"


def is_database_url(text: str) -> bool:
    return "://" in text


def new_location(project: str, database_url: str | None = None) -> ProjectLocation:
    """Location for a project about to be created (``labeler init``)."""
    if is_database_url(project):
        return _url_location(project)
    folder = Path(project).expanduser().resolve()
    if database_url is None:
        return ProjectLocation(f"sqlite:///{db_file(folder)}", folder.name, folder)
    return ProjectLocation(strip_password(database_url), folder.name, folder)


def resolve(project: str | os.PathLike[str]) -> ProjectLocation:
    """Location of an existing project given as a folder or ``URL#name``."""
    text = str(project)
    if is_database_url(text):
        return _url_location(text)
    folder = Path(text).expanduser().resolve()
    pointer = folder / POINTER_FILE
    if pointer.is_file():
        try:
            data = json.loads(pointer.read_text(encoding="utf-8"))
            location = ProjectLocation(data["url"], data["name"], folder)
        except (ValueError, KeyError) as exc:
            raise ProjectError(f"{pointer}: not a valid project pointer ({exc})") from None
        bare = strip_password(location.url)
        if bare != location.url:  # written by an older Labeler: take the password out
            location = ProjectLocation(bare, location.name, folder)
            write_pointer(location)
        return location
    found = existing_db_file(folder)
    if found is not None:
        return ProjectLocation(f"sqlite:///{found}", folder.name, folder)
    if not folder.exists():
        raise ProjectError(f"{folder}: no such project folder")
    raise ProjectError(f"{folder}: not a Labeler project (no {DB_DIR}/{DB_FILE} or {POINTER_FILE})")


def sa_url_path(url: str) -> str:
    """The file path of a ``sqlite:///PATH`` URL."""
    return url.split(":///", 1)[1] if ":///" in url else url


def _url_location(text: str) -> ProjectLocation:
    url, sep, name = strip_password(text).partition("#")
    if not sep or not name:
        raise ProjectError(
            f"{url}: a database URL needs the project name after '#', e.g. URL#my-project"
        )
    digest = hashlib.sha1(f"{url}#{name}".encode()).hexdigest()[:12]
    return ProjectLocation(url, name, _cache_dir() / "projects" / f"{name}-{digest}")


def write_pointer(location: ProjectLocation) -> None:
    """Record a team-mode project's database in its folder, so the folder can name it."""
    if location.is_sqlite:
        return
    location.folder.mkdir(parents=True, exist_ok=True)
    payload = {"url": location.url, "name": location.name}
    (location.folder / POINTER_FILE).write_text(
        json.dumps(payload, indent=2) + "\n", encoding="utf-8"
    )
