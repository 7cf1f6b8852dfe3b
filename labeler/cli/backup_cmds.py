"""Backup commands for SQLite projects: check, backup (and --list), restore."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from labeler.cli.output import print_json
from labeler.errors import ProjectError
from labeler.store import integrity
from labeler.store.location import resolve


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="check a project's database for damage (SQLite)")
    p.add_argument("project")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("backup", help="back up a project's database now, or list its backups")
    p.add_argument("project")
    p.add_argument("--list", action="store_true", help="list the backups, newest first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser(
        "restore", help="replace a damaged project database with a backup (newest by default)"
    )
    p.add_argument("project")
    p.add_argument("backup", nargs="?", help="a backup file (see 'labeler backup --list')")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_restore)


def _db_path(project: str) -> Path:
    location = resolve(project)
    if location.db_path is None:
        raise ProjectError(
            f"{project}: a team project lives in PostgreSQL; back it up with pg_dump"
        )
    return location.db_path


def cmd_check(args: argparse.Namespace) -> int:
    db = _db_path(args.project)
    problems = integrity.quick_check(db)
    if args.json:
        print_json({"database": str(db), "ok": not problems, "problems": problems})
    elif problems:
        print(f"{db}: damaged: {problems[0].splitlines()[-1]}")
    else:
        print(f"{db}: ok")
    return 2 if problems else 0


def cmd_backup(args: argparse.Namespace) -> int:
    db = _db_path(args.project)
    if args.list:
        backups = integrity.list_backups(db)
        if args.json:
            print_json(
                [{"path": str(b.path), "time": b.time.isoformat(), "kind": b.kind} for b in backups]
            )
        else:
            for b in backups:
                print(f"{b.path}\t{b.describe()}")
        return 0
    path = integrity.make_backup(db)
    if args.json:
        print_json({"backup": str(path)})
    else:
        print(f"backed up {db} to {path}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    db = _db_path(args.project)
    if args.backup:
        chosen = Path(args.backup).expanduser().resolve()
    else:
        backups = integrity.list_backups(db)
        if not backups:
            raise ProjectError(f"{db}: no backups found in {integrity.backup_dir(db)}")
        chosen = backups[0].path
    kept = integrity.restore_backup(db, chosen)
    if args.json:
        print_json({"restored": str(chosen), "damaged_kept_as": str(kept)})
    else:
        print(f"restored {chosen} into {db}; the replaced file is kept as {kept}")
    return 0
