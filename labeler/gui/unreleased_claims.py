"""Claims an app could not give back when it closed (the database server was down), kept in a
small file so the next open of the same project by the same annotator gives them back.

Without it they would keep those samples from colleagues for the claims' whole lease. The
entry is written *before* the release is tried and removed once it succeeded, so a release
cut short (the app killed while the server hangs) is also caught. Plain functions, no Qt.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from labeler.app_settings import data_dir
from labeler.store.database import redact
from labeler.store.location import ProjectLocation

FILE_NAME = "unreleased-claims.json"


def ledger_path() -> Path:
    return data_dir() / FILE_NAME


def project_key(location: ProjectLocation) -> str:
    """The project, as the ledger names it (its URL without a password, and its name)."""
    return f"{redact(location.url)}#{location.name}"


def _read(path: Path) -> list[dict[str, str]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("entries", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [e for e in entries if isinstance(e, dict)]


def _write(path: Path, entries: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"entries": entries}, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def remember(project: str, annotator: str, session: str) -> None:
    """Note that ``session``'s claims on ``project`` may still be held."""
    path = ledger_path()
    entries = _read(path)
    entry = {"project": project, "annotator": annotator, "session": session}
    if entry not in entries:
        with contextlib.suppress(OSError):  # a read-only home must not stop the app closing
            _write(path, [*entries, entry])


def forget(project: str, annotator: str, session: str) -> None:
    """The claims of ``session`` on ``project`` were given back."""
    path = ledger_path()
    entries = _read(path)
    keep = [
        e
        for e in entries
        if (e.get("project"), e.get("annotator"), e.get("session")) != (project, annotator, session)
    ]
    if len(keep) != len(entries):
        with contextlib.suppress(OSError):
            _write(path, keep)


def left_behind(project: str, annotator: str) -> list[str]:
    """Sessions of ``annotator`` on ``project`` whose claims may still be held."""
    return [
        str(e["session"])
        for e in _read(ledger_path())
        if e.get("project") == project and e.get("annotator") == annotator and e.get("session")
    ]
