"""Drift checks recorded per import batch (table ``batch_drift``, migration 0009c), and the
MLflow run id a retrain logged (``model_run.mlflow_run_id``).

A batch may be checked several times (the reference, the labeled samples of earlier imports,
grows as annotators label); each check is a row and readers take the newest per batch.
``reference_event`` is the newest label event when it was checked: a check whose reference
event and feature key still match is still true, so ``info`` can reuse it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.database import utcnow

if TYPE_CHECKING:
    from labeler.store.project_store import Store


@dataclass(frozen=True)
class DriftRecord:
    batch_id: int
    source: str
    rows: int
    imported_at: datetime
    checked_at: datetime | None  # None: this batch was never checked
    level: str  # none | moderate | strong | unknown | n/a | unchecked
    method: str | None
    score: float | None
    n_reference: int
    n_batch: int
    feature: str | None
    line: str
    reference_event: int | None
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch_id,
            "level": self.level,
            "method": self.method,
            "score": self.score,
            "n_reference": self.n_reference,
            "n_batch": self.n_batch,
            "feature": self.feature,
            "line": self.line,
            "checked_at": None
            if self.checked_at is None
            else self.checked_at.isoformat(timespec="seconds") + "Z",
        }


def newest_label_event(store: Store) -> int:
    """Id of the project's newest label event (0 if none): what a drift check's reference
    was as of."""
    le = t.label_event
    with store.read() as conn:
        top = conn.execute(
            sa.select(sa.func.max(le.c.id)).where(le.c.project_id == store.project_id)
        ).scalar_one()
    return int(top or 0)


def record_drift(
    store: Store, batch_id: int, result: dict[str, Any], reference_event: int | None
) -> bool:
    """Record one check of ``batch_id``: ``result`` as :func:`batch_drift` returns it.
    False if it could not be written (a read-only or locked database): a check that could
    not be recorded is still a valid answer for its caller."""
    details = {
        k: result[k]
        for k in ("per_feature", "moderate_at", "strong_at", "features", "newest_batch")
        if k in result
    }
    try:
        with store.write() as conn:
            conn.execute(
                t.batch_drift.insert().values(
                    project_id=store.project_id,
                    import_batch_id=int(batch_id),
                    checked_at=utcnow(),
                    level=str(result.get("level", "n/a")),
                    method=result.get("method"),
                    score=None if result.get("score") is None else float(result["score"]),
                    n_reference=int(result.get("n_reference") or 0),
                    n_batch=int(result.get("n_batch") or 0),
                    feature=result.get("feature"),
                    reference_event=reference_event,
                    line=str(result.get("line", "")),
                    details=json.dumps(details, default=str),
                )
            )
    except sa.exc.SQLAlchemyError:
        return False
    return True


def drift_by_batch(store: Store) -> list[DriftRecord]:
    """Every import batch, oldest first, with its newest drift check (``level``
    ``unchecked`` when it has none)."""
    ib, bd = t.import_batch, t.batch_drift
    pid = store.project_id
    newest = (
        sa.select(sa.func.max(bd.c.id).label("id"))
        .where(bd.c.project_id == pid)
        .group_by(bd.c.import_batch_id)
        .subquery()
    )
    checks = sa.select(bd).join(newest, newest.c.id == bd.c.id).subquery()
    query = (
        sa.select(ib.c.id, ib.c.source, ib.c.row_count, ib.c.created_at, checks)
        .select_from(ib.outerjoin(checks, checks.c.import_batch_id == ib.c.id))
        .where(ib.c.project_id == pid)
        .order_by(ib.c.id)
    )
    with store.read() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for r in rows:
        checked = r["checked_at"] is not None
        out.append(
            DriftRecord(
                batch_id=int(r["id"]),
                source=str(r["source"]),
                rows=int(r["row_count"]),
                imported_at=r["created_at"],
                checked_at=r["checked_at"],
                level=str(r["level"]) if checked else "unchecked",
                method=r["method"],
                score=r["score"],
                n_reference=int(r["n_reference"] or 0),
                n_batch=int(r["n_batch"] or 0),
                feature=r["feature"],
                line=str(r["line"]) if checked else "drift: not checked yet",
                reference_event=r["reference_event"],
                details=json.loads(r["details"] or "{}") if checked else {},
            )
        )
    return out


def latest_drift(store: Store, batch_id: int) -> DriftRecord | None:
    """The newest check of ``batch_id`` (None if never checked)."""
    for record in drift_by_batch(store):
        if record.batch_id == batch_id:
            return None if record.checked_at is None else record
    return None


def set_mlflow_run_id(store: Store, run_id: int, mlflow_run_id: str) -> None:
    """Note the MLflow run a retrain (model run ``run_id``) was logged as."""
    mr = t.model_run
    with store.write() as conn:
        conn.execute(
            mr.update()
            .where(mr.c.project_id == store.project_id, mr.c.id == run_id)
            .values(mlflow_run_id=mlflow_run_id)
        )
