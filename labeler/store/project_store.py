"""The project store: the one API through which the CLI, the engine and the GUI touch data.

``Store`` owns the database engine and the project row; its parts each hold one concern:

* ``store.samples`` (:class:`~labeler.store.samples.SampleRepo`): samples and bulk import,
* ``store.labels`` (:class:`~labeler.store.labels.LabelLog`): append-only label events,
* ``store.models`` (:class:`~labeler.store.models.ModelRecords`): runs, queue, predictions,
* ``store.claims`` (:class:`~labeler.store.claims.Claims`): who is looking at which sample (teams).

A ``Store`` may be used from one thread at a time per connection; it opens a short-lived
connection per call, so separate threads may each call it (SQLite serialises writers).
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from labeler.errors import ProjectError
from labeler.store import schema as t
from labeler.store.database import (
    ServerTimeouts,
    make_engine,
    migrate,
    redact,
    utcnow,
)
from labeler.store.faults import server_problem
from labeler.store.layout import relocate_legacy
from labeler.store.location import (
    ProjectLocation,
    existing_db_file,
    new_location,
    resolve,
    write_pointer,
)
from labeler.store.records import MODALITIES, TASK_TYPES, LabelDef, ProjectInfo, dumps
from labeler.store.tally import ProjectCounts, labels_per_annotator, project_counts

DEFAULT_SHORTCUTS = "123456789abcdefghijklmnopqrstuvwxyz"
_NAME_RE = re.compile(r"^[^\s,][^,]*$")


def default_shortcuts(labels: Sequence[str]) -> list[str]:
    """Keys 1-9, then letters, in label order."""
    if len(labels) > len(DEFAULT_SHORTCUTS):
        raise ProjectError(f"at most {len(DEFAULT_SHORTCUTS)} labels have shortcut keys")
    return list(DEFAULT_SHORTCUTS[: len(labels)])


class Store:
    """An open project."""

    def __init__(self, location: ProjectLocation, engine: sa.Engine, project_id: int) -> None:
        from labeler.store.claims import Claims
        from labeler.store.labels import LabelLog
        from labeler.store.models import ModelRecords
        from labeler.store.samples import SampleRepo

        self.location = location
        self.engine = engine
        self._snapshot = threading.local()  # .conn: this thread's open snapshot, if any
        self.project_id = project_id
        self._info: ProjectInfo | None = None
        self.samples = SampleRepo(self)
        self.labels = LabelLog(self)
        self.models = ModelRecords(self)
        self.claims = Claims(self)

    # -- lifecycle ---------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        project: str | Path,
        *,
        modality: str,
        labels: Sequence[str],
        task_type: str = "single-label",
        shortcuts: Sequence[str] | None = None,
        database_url: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Store:
        """Create a project (folder + database, or a named project in a shared database)."""
        if modality not in MODALITIES:
            raise ProjectError(f"modality {modality!r} is not one of {', '.join(MODALITIES)}")
        if task_type not in TASK_TYPES:
            raise ProjectError(f"task type {task_type!r} is not one of {', '.join(TASK_TYPES)}")
        names = [str(x).strip() for x in labels]
        if task_type == "binary" and len(names) != 2:
            raise ProjectError(f"a binary project needs exactly 2 labels, got {len(names)}")
        if len(names) < 1 or (task_type != "multi-label" and len(names) < 2):
            raise ProjectError("give at least two labels (one is enough only for --multi-label)")
        for name in names:
            if not name or not _NAME_RE.match(name):
                raise ProjectError(f"label {name!r} is empty or contains a comma")
            if len(name) > 200:
                raise ProjectError(f"label {name[:20]!r}... is longer than 200 characters")
        if len(set(names)) != len(names):
            raise ProjectError(f"labels repeat: {', '.join(names)}")
        keys = list(shortcuts) if shortcuts is not None else default_shortcuts(names)
        if len(keys) != len(names) or len(set(keys)) != len(keys):
            raise ProjectError("each label needs its own distinct shortcut key")

        location = new_location(str(project), database_url)
        if location.is_sqlite and existing_db_file(location.folder) is not None:
            raise ProjectError(f"{location.folder}: a project already exists here")
        created_folder = not location.folder.exists()
        location.folder.mkdir(parents=True, exist_ok=True)
        if location.db_path is not None:
            location.db_path.parent.mkdir(exist_ok=True)
        engine = make_engine(location.url)
        try:
            migrate(engine, location.db_path, create=True)
            with cls._write(engine) as conn:
                exists = conn.execute(
                    sa.select(t.project.c.id).where(t.project.c.name == location.name)
                ).first()
                if exists:
                    raise ProjectError(
                        f"project {location.name!r} already exists in {location.url}"
                    )
                pid = conn.execute(
                    t.project.insert().values(
                        name=location.name,
                        modality=modality,
                        task_type=task_type,
                        settings=dumps(settings or {}),
                        created_at=utcnow(),
                    )
                ).inserted_primary_key[0]
                conn.execute(
                    t.label_def.insert(),
                    [
                        {"project_id": pid, "position": i, "name": n, "shortcut": k}
                        for i, (n, k) in enumerate(zip(names, keys, strict=True))
                    ],
                )
        except sa.exc.OperationalError as exc:
            engine.dispose()
            _remove_new_folder(location.folder, created_folder)
            raise ProjectError(_cannot_open(location, exc, "create")) from None
        except BaseException:
            engine.dispose()
            _remove_new_folder(location.folder, created_folder)
            raise
        write_pointer(location)
        return cls(location, engine, int(pid))

    @classmethod
    def open(
        cls, project: str | Path | ProjectLocation, *, timeouts: ServerTimeouts | None = None
    ) -> Store:
        """Open an existing project, running pending migrations (after a SQLite backup).
        ``timeouts``: how long PostgreSQL calls may wait (see :class:`ServerTimeouts`)."""
        location = project if isinstance(project, ProjectLocation) else resolve(project)
        if location.is_sqlite and relocate_legacy(location.folder):
            location = resolve(location.folder)
        engine = make_engine(location.url, timeouts)
        try:
            migrate(engine, location.db_path)
            with engine.connect() as conn:
                row = conn.execute(
                    sa.select(t.project.c.id).where(t.project.c.name == location.name)
                ).first()
                if row is None and location.is_sqlite:
                    # a project folder that was renamed or copied: its database holds one project
                    rows = conn.execute(sa.select(t.project.c.id).limit(2)).all()
                    row = rows[0] if len(rows) == 1 else None
        except sa.exc.OperationalError as exc:
            engine.dispose()
            raise ProjectError(_cannot_open(location, exc)) from None
        except sa.exc.DatabaseError as exc:
            engine.dispose()
            raise ProjectError(
                f"{redact(location.url)}: not a Labeler database ({exc.orig})"
            ) from None
        except BaseException:
            engine.dispose()
            raise
        if row is None:
            engine.dispose()
            raise ProjectError(f"no project named {location.name!r} in {redact(location.url)}")
        return cls(location, engine, int(row[0]))

    def close(self) -> None:
        self.engine.dispose()

    def open_connections(self) -> int:
        """Connections this process holds on the database (pooled and in use)."""
        pool = self.engine.pool
        count = getattr(pool, "checkedin", None), getattr(pool, "checkedout", None)
        return sum(int(f()) for f in count if f is not None)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections ---------------------------------------------------------------------

    @staticmethod
    @contextmanager
    def _write(engine: sa.Engine) -> Iterator[sa.Connection]:
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
            yield conn

    def write(self) -> Any:
        """Context manager: one write transaction (committed on success, rolled back on error)."""
        return self._write(self.engine)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """Context manager: one read transaction. On PostgreSQL (read committed) each
        statement sees the commits made before it; inside :meth:`snapshot`, the snapshot's."""
        shared = getattr(self._snapshot, "conn", None)
        if shared is not None:
            yield shared
            return
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[sa.Connection]:
        """Context manager: every :meth:`read` on this thread inside it sees one state of the
        database (repeatable read on PostgreSQL; one SQLite read transaction), for decisions
        made from several reads, e.g. "nothing left for this annotator". The database refuses
        writes on it (a read-only transaction; SQLite: ``query_only``): writes go through
        :meth:`write`, which commits on its own connection."""
        if getattr(self._snapshot, "conn", None) is not None:
            yield self._snapshot.conn  # already inside one
            return
        with self.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if not sqlite:
                conn = conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            try:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA query_only = ON")
                    conn.commit()  # ends the transaction the statement began
                with conn.begin():
                    self._snapshot.conn = conn
                    try:
                        yield conn
                    finally:
                        self._snapshot.conn = None
            finally:
                if sqlite:
                    _writable_again(conn)

    @property
    def artifacts_dir(self) -> Path:
        """Folder for the feature cache, model files and exports."""
        path = self.location.folder
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- project -------------------------------------------------------------------------

    @property
    def info(self) -> ProjectInfo:
        if self._info is None:
            self._info = self._load_info()
        return self._info

    def _load_info(self) -> ProjectInfo:
        with self.read() as conn:
            row = conn.execute(sa.select(t.project).where(t.project.c.id == self.project_id)).one()
            labels = conn.execute(
                sa.select(t.label_def)
                .where(t.label_def.c.project_id == self.project_id)
                .order_by(t.label_def.c.position)
            ).all()
        return ProjectInfo(
            id=row.id,
            name=row.name,
            modality=row.modality,
            task_type=row.task_type,
            labels=tuple(LabelDef(r.name, r.shortcut, r.position) for r in labels),
            settings=json.loads(row.settings or "{}"),
            created_at=row.created_at,
        )

    def update_settings(self, **values: Any) -> dict[str, Any]:
        """Merge ``values`` into the project's settings (JSON) and return the new settings."""
        with self.write() as conn:
            raw = conn.execute(
                sa.select(t.project.c.settings).where(t.project.c.id == self.project_id)
            ).scalar_one()
            settings = {**json.loads(raw or "{}"), **values}
            conn.execute(
                t.project.update()
                .where(t.project.c.id == self.project_id)
                .values(settings=dumps(settings))
            )
        self._info = None
        return settings

    def set_shortcuts(self, shortcuts: dict[str, str]) -> None:
        """Change label shortcut keys (``{label: key}``)."""
        names = self.info.label_names
        unknown = set(shortcuts) - set(names)
        if unknown:
            raise ProjectError(f"unknown label(s): {', '.join(sorted(unknown))}")
        current = {lab.name: lab.shortcut for lab in self.info.labels}
        current.update(shortcuts)
        if len(set(current.values())) != len(current):
            raise ProjectError("each label needs its own distinct shortcut key")
        with self.write() as conn:
            for name, key in shortcuts.items():
                conn.execute(
                    t.label_def.update()
                    .where(t.label_def.c.project_id == self.project_id, t.label_def.c.name == name)
                    .values(shortcut=key)
                )
        self._info = None

    # -- summaries -----------------------------------------------------------------------

    def counts(self) -> ProjectCounts:
        """Samples, labeled, skipped, flagged and per-class counts: a read of a few rows
        (kept by the database, :mod:`labeler.store.tally`), the same at 1M labels as at 100."""
        return project_counts(self)

    def summary(self) -> dict[str, Any]:
        """Counts for ``labeler info``: samples, labeled, per class, per annotator, batches.
        Every figure is counted in the database (none loads the label events)."""
        pid = self.project_id
        counts = self.counts()
        with self.read() as conn:
            batches = conn.execute(
                sa.select(t.import_batch)
                .where(t.import_batch.c.project_id == pid)
                .order_by(t.import_batch.c.id)
            ).all()
            n_events = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.label_event)
                .where(t.label_event.c.project_id == pid)
            ).scalar_one()
        per_annotator = labels_per_annotator(self)
        info = self.info
        return {
            "project": info.name,
            "database": redact(self.location.url),
            "folder": str(self.location.folder),
            "modality": info.modality,
            "task_type": info.task_type,
            "labels": [{"name": lab.name, "shortcut": lab.shortcut} for lab in info.labels],
            "samples": counts.samples,
            "labeled": counts.labeled,
            "skipped": counts.skipped,
            "unlabeled": counts.unlabeled,
            "flagged": counts.flagged,
            "label_events": n_events,
            "per_class": counts.per_class,
            "per_annotator": per_annotator,
            "import_batches": [
                {
                    "id": b.id,
                    "source": b.source,
                    "rows": b.row_count,
                    "duplicates": b.duplicates,
                    "sha256": b.file_hash,
                    "time": b.created_at.isoformat(timespec="seconds") + "Z",
                }
                for b in batches
            ],
        }

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of this project in every table, ordered: for before/after comparisons."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        with self.read() as conn:
            for table in t.metadata.sorted_tables:
                if table is t.project:
                    query = sa.select(table).where(table.c.id == self.project_id)
                else:
                    query = sa.select(table).where(table.c.project_id == self.project_id)
                query = query.order_by(*table.primary_key.columns)
                out[table.name] = [tuple(r) for r in conn.execute(query).all()]
        return out


def _remove_new_folder(folder: Path, created: bool) -> None:
    """Undo a failed ``create``: remove the folder if this call made it."""
    if created:
        shutil.rmtree(folder, ignore_errors=True)


def _cannot_open(
    location: ProjectLocation, exc: sa.exc.OperationalError, verb: str = "open"
) -> str:
    """One line: the server is unreachable (named, no driver text), or the driver's reason."""
    problem = server_problem(exc)
    if problem is not None:
        return f"cannot {verb} project {location.name!r}: {problem}"
    return f"{redact(location.url)}: cannot open database ({exc.orig})"


def _writable_again(conn: sa.Connection) -> None:
    """Turn ``PRAGMA query_only`` off before a snapshot's SQLite connection goes back to the
    pool; if that fails, the connection is discarded instead (a pooled read-only connection
    would fail every later write)."""
    try:
        if conn.in_transaction():
            conn.rollback()
        conn.exec_driver_sql("PRAGMA query_only = OFF")
        conn.commit()
    except BaseException as exc:
        conn.invalidate()  # discarded: the snapshot's own error, if any, is the one to report
        if not isinstance(exc, Exception):
            raise
