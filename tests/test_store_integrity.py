"""Protection of SQLite projects: the .labeler/ layout, the lock check, quick_check, rolling
backups and restore (issue: a file dialog corrupted projects by dropping SQLite's locks)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from labeler.errors import Cancelled, ProjectError
from labeler.progress import CancelToken
from labeler.store import Store
from labeler.store import integrity as ig
from labeler.store.layout import relocate_legacy
from labeler.store.lock_guard import locks_held, locks_lost
from tests.gui.gui_helpers import fill_text
from tests.helpers import run_cli


def _project(tmp_path, name="p") -> Store:
    store = Store.create(tmp_path / name, modality="text", labels=["a", "b"])
    fill_text(store, 20)
    return store


def _touch_connection(store: Store) -> None:
    with store.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).all()


def test_new_projects_keep_the_database_in_a_hidden_folder(tmp_path):
    store = _project(tmp_path)
    _touch_connection(store)
    folder = tmp_path / "p"
    assert store.location.db_path == folder / ".labeler" / "project.db"
    assert not any(p.name.startswith("project.db") for p in folder.iterdir())
    store.close()


def test_closing_any_descriptor_of_the_shm_file_is_seen_as_lost_locks(tmp_path):
    """The mechanism of the corruption, and the check that catches it."""
    store = _project(tmp_path)
    _touch_connection(store)
    db = store.location.db_path
    shm = db.with_name("project.db-shm")
    assert locks_held(shm) and not locks_lost(db, 1)
    with open(shm, "rb") as f:  # what Qt's file dialog did to guess the file's type
        f.read(16)
    assert locks_held(shm) == 0 and locks_lost(db, 1)
    store.close()


def test_legacy_database_moves_into_the_hidden_folder_but_not_while_open(tmp_path):
    store = _project(tmp_path)
    store.labels.add(store.samples.ids()[0], ["a"], "ann")
    store.close()
    folder = tmp_path / "p"
    (folder / ".labeler" / "project.db").rename(folder / "project.db")
    (folder / ".labeler").rmdir()
    held = sqlite3.connect(folder / "project.db")
    held.execute("SELECT count(*) FROM label_event").fetchall()
    assert relocate_legacy(folder) is False  # another connection holds it: left alone
    again = Store.open(folder)  # opens where it is
    assert again.location.db_path == folder / "project.db"
    again.close()
    held.close()
    moved = Store.open(folder)
    assert moved.location.db_path == folder / ".labeler" / "project.db"
    assert moved.summary()["labeled"] == 1 and moved.summary()["samples"] == 20
    assert sorted(p.name for p in folder.iterdir()) == [".labeler"]
    moved.close()


def test_quick_check_finds_a_damaged_page(tmp_path):
    store = _project(tmp_path)
    db = store.location.db_path
    store.close()
    assert ig.quick_check(db) == []
    data = bytearray(db.read_bytes())
    page = 16384
    data[page : page + 256] = b"\xff" * 256  # page 2: the start of a b-tree page
    db.write_bytes(bytes(data))
    assert ig.quick_check(db)
    with pytest.raises(ig.DamagedProject, match="damaged"):
        ig.check_or_raise(db)


def test_backups_roll_restore_refuses_while_open_and_keeps_the_damaged_file(tmp_path):
    store = _project(tmp_path)
    db = store.location.db_path
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(4):
        ig.make_backup(db, keep=2, now=t0 + timedelta(minutes=i))
    backups = ig.list_backups(db)
    assert [b.time for b in backups] == [t0 + timedelta(minutes=3), t0 + timedelta(minutes=2)]
    store.labels.add(store.samples.ids()[0], ["a"], "ann")  # after the newest backup
    with pytest.raises(ProjectError, match="open elsewhere"):
        ig.restore_backup(db, backups[0].path)
    store.close()
    kept = ig.restore_backup(db, backups[0].path)
    assert kept.is_file() and kept.parent == db.parent
    restored = Store.open(tmp_path / "p")
    assert restored.summary()["labeled"] == 0 and restored.summary()["samples"] == 20
    restored.close()


class _CancelMidway(CancelToken):
    """Reads as cancelled from its third poll on: the backup is interrupted while running."""

    def __init__(self) -> None:
        super().__init__()
        self.polls = 0

    @property
    def cancelled(self) -> bool:
        self.polls += 1
        return self.polls >= 3


def test_a_backup_cancelled_while_running_leaves_no_file(tmp_path):
    store = Store.create(tmp_path / "p", modality="text", labels=["a", "b"])
    fill_text(store, 3000)  # enough work for the cancel check to run several times
    token = _CancelMidway()
    with pytest.raises(Cancelled):
        ig.make_backup(store.location.db_path, cancel=token)
    assert list(ig.backup_dir(store.location.db_path).iterdir()) == []
    store.close()


def test_cli_check_backup_restore(tmp_path):
    store = _project(tmp_path)
    store.close()
    folder = str(tmp_path / "p")
    assert run_cli("check", folder).returncode == 0
    made = run_cli("backup", folder, "--json")
    assert made.returncode == 0, made.stderr
    listed = run_cli("backup", folder, "--list")
    assert "rolling" in listed.stdout
    db = tmp_path / "p" / ".labeler" / "project.db"
    data = bytearray(db.read_bytes())
    data[16384 : 16384 + 256] = b"\xff" * 256
    db.write_bytes(bytes(data))
    bad = run_cli("check", folder)
    assert bad.returncode == 2 and "damaged" in bad.stdout
    restored = run_cli("restore", folder)
    assert restored.returncode == 0, restored.stderr
    assert run_cli("check", folder).returncode == 0
    missing = run_cli("restore", folder, str(tmp_path / "nope.db"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
