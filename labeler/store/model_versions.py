"""Model versions reserved in the store, as export versions are: a trainer reserves the next
version *before* it writes its model file, so two trainers never name two models alike (nor
delete each other's file), and the run later records exactly the version it reserved.

Every write to a project's model records (versions, runs, the ranked queue, predictions)
takes one per-project lock first (:func:`lock_models`): SQLite's write transaction already
serialises writers; on PostgreSQL an advisory transaction lock does, so two runs finishing
at once can no longer both delete-then-insert the queue (``UniqueViolation`` on
``queue_item_pkey``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.database import utcnow

if TYPE_CHECKING:
    from labeler.store.project_store import Store

_MODELS_LOCK = 0x4C4D_0000  # + project id: PostgreSQL advisory lock for model records


class VersionTaken(RuntimeError):
    """The model version a run names was not reserved for it (or is recorded already)."""


@dataclass(frozen=True)
class ModelVersion:
    version: int
    state: str  # reserved | done | abandoned
    trainer: str | None
    sha256: str | None


def lock_models(conn: sa.Connection, project_id: int) -> None:
    """Serialise writers of the project's model records until this transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MODELS_LOCK + int(project_id)}
        )


def reserve_in(conn: sa.Connection, project_id: int, trainer: str | None) -> int:
    """Reserve the next version inside a transaction that holds :func:`lock_models`."""
    mv, mr = t.model_version, t.model_run
    top = conn.execute(
        sa.select(sa.func.max(mv.c.version)).where(mv.c.project_id == project_id)
    ).scalar_one()
    top_run = conn.execute(
        sa.select(sa.func.max(mr.c.model_version)).where(mr.c.project_id == project_id)
    ).scalar_one()
    version = max(int(top or 0), int(top_run or 0)) + 1
    conn.execute(
        mv.insert().values(
            project_id=project_id,
            version=version,
            state="reserved",
            trainer=trainer,
            reserved_at=utcnow(),
        )
    )
    return version


def complete_in(conn: sa.Connection, project_id: int, version: int, sha256: str | None) -> bool:
    """Mark a reserved version done; True if no newer version is done (its queue is current).
    Raises :class:`VersionTaken` if ``version`` is not reserved."""
    mv = t.model_version
    done = conn.execute(
        mv.update()
        .where(mv.c.project_id == project_id, mv.c.version == version, mv.c.state == "reserved")
        .values(state="done", sha256=sha256)
    ).rowcount
    if done != 1:
        raise VersionTaken(f"model version {version} is not reserved for this run")
    newer = conn.execute(
        sa.select(sa.func.count())
        .select_from(mv)
        .where(mv.c.project_id == project_id, mv.c.version > version, mv.c.state == "done")
    ).scalar_one()
    return not newer


class ModelVersions:
    """``store.models.versions``: reserve, abandon and look up model versions."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def reserve(self, trainer: str | None = None) -> int:
        """The next model version, reserved for the caller (never handed out twice)."""
        with self._store.write() as conn:
            lock_models(conn, self._store.project_id)
            return reserve_in(conn, self._store.project_id, trainer)

    def abandon(self, version: int) -> None:
        """A reserved version whose run failed: never used (nor reused)."""
        mv = t.model_version
        with self._store.write() as conn:
            conn.execute(
                mv.update()
                .where(
                    mv.c.project_id == self._store.project_id,
                    mv.c.version == version,
                    mv.c.state == "reserved",
                )
                .values(state="abandoned")
            )

    def get(self, version: int) -> ModelVersion | None:
        mv = t.model_version
        with self._store.read() as conn:
            r = conn.execute(
                sa.select(mv).where(
                    mv.c.project_id == self._store.project_id, mv.c.version == version
                )
            ).first()
        return None if r is None else ModelVersion(r.version, r.state, r.trainer, r.sha256)

    # -- model artifacts in the database (PostgreSQL projects) -----------------------------

    @property
    def keeps_artifacts(self) -> bool:
        """Whether model files live in the database (team mode: any member's machine loads
        them) rather than only in the project folder (SQLite: the folder is the project)."""
        return not self._store.location.is_sqlite

    def put_artifact(self, sha256: str, content: bytes) -> None:
        """Store a model file's bytes under its SHA-256 (once: the same bytes are kept once)."""
        ma = t.model_artifact
        with self._store.write() as conn:
            lock_models(conn, self._store.project_id)
            exists = conn.execute(
                sa.select(ma.c.sha256).where(
                    ma.c.project_id == self._store.project_id, ma.c.sha256 == sha256
                )
            ).first()
            if exists is None:
                conn.execute(
                    ma.insert().values(
                        project_id=self._store.project_id,
                        sha256=sha256,
                        size=len(content),
                        content=content,
                        created_at=utcnow(),
                    )
                )

    def artifact(self, sha256: str) -> bytes | None:
        """The stored bytes of the model file with this SHA-256, or None."""
        ma = t.model_artifact
        with self._store.read() as conn:
            return conn.execute(
                sa.select(ma.c.content).where(
                    ma.c.project_id == self._store.project_id, ma.c.sha256 == sha256
                )
            ).scalar_one_or_none()

    def drop_artifact(self, sha256: str) -> None:
        """Remove stored bytes no recorded run uses (a run that failed after saving)."""
        ma, mr = t.model_artifact, t.model_run
        with self._store.write() as conn:
            lock_models(conn, self._store.project_id)
            used = conn.execute(
                sa.select(mr.c.id).where(
                    mr.c.project_id == self._store.project_id, mr.c.artifact_sha256 == sha256
                )
            ).first()
            if used is None:
                conn.execute(
                    ma.delete().where(
                        ma.c.project_id == self._store.project_id, ma.c.sha256 == sha256
                    )
                )
