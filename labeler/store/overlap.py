"""Overlap (team mode): a share of the samples is labeled by several distinct annotators, so
that agreement can be measured and disagreements adjudicated.

Two project settings (``settings["team"]``): ``overlap``, the number k of distinct annotators
an overlap sample needs (1: no overlap, the default), and ``overlap_fraction``, the share of
samples that get k. Whether a sample is an overlap sample is a pure function of its id (a
multiplicative hash, :func:`in_overlap`), evaluated the same way in Python and in SQL, so
every member of a team agrees without storing anything per sample.

An overlap sample stays available (:func:`open_overlap_ids`) to annotators who have not
labeled or skipped it until k distinct annotators have an active label on it, or a reviewer
adjudicated it. It is never handed twice to the same annotator.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from labeler.errors import ProjectError
from labeler.store import schema as t

TEAM_KEY = "team"
MAX_OVERLAP = 20
_MUL = 2654435761  # Knuth's multiplicative hash: consecutive ids spread evenly over [0, 2^32)
_MOD = 1 << 32


@dataclass(frozen=True)
class OverlapSettings:
    """``overlap``: distinct annotators per overlap sample; ``fraction``: share of samples."""

    overlap: int = 1
    fraction: float = 1.0

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> OverlapSettings:
        """From a project's settings dict; values that do not parse give the defaults."""
        team = settings.get(TEAM_KEY) or {}
        default = cls()
        try:
            k = int(team.get("overlap", default.overlap))
        except (TypeError, ValueError):
            k = default.overlap
        try:
            f = float(team.get("overlap_fraction", default.fraction))
        except (TypeError, ValueError):
            f = default.fraction
        if f != f:  # NaN
            f = default.fraction
        return cls(min(max(k, 1), MAX_OVERLAP), min(max(f, 0.0), 1.0))

    def checked(self) -> OverlapSettings:
        """Itself, or :class:`~labeler.errors.ProjectError` naming the bad value."""
        if not isinstance(self.overlap, int) or not 1 <= self.overlap <= MAX_OVERLAP:
            raise ProjectError(f"overlap must be a whole number from 1 to {MAX_OVERLAP}")
        if not 0.0 <= float(self.fraction) <= 1.0:
            raise ProjectError("overlap fraction must be between 0 and 1")
        return self

    def to_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The ``team`` entry to merge into ``settings``."""
        team = {
            **(settings.get(TEAM_KEY) or {}),
            "overlap": int(self.overlap),
            "overlap_fraction": float(self.fraction),
        }
        return {TEAM_KEY: team}

    @property
    def active(self) -> bool:
        return self.overlap > 1 and self.threshold > 0

    @property
    def threshold(self) -> int:
        return round(self.fraction * _MOD)

    def in_overlap(self, sample_id: int) -> bool:
        """Whether ``sample_id`` needs ``overlap`` annotators (same rule as :meth:`sql_in_overlap`)."""
        return self.active and (int(sample_id) * _MUL) % _MOD < self.threshold

    def required(self, sample_id: int) -> int:
        """Distinct annotators ``sample_id`` needs."""
        return self.overlap if self.in_overlap(sample_id) else 1

    def sql_in_overlap(self, sample_id: Any) -> Any:
        """SQL condition: the sample id column ``sample_id`` is an overlap sample."""
        if not self.active:
            return sa.false()
        return (sample_id * _MUL) % _MOD < self.threshold

    def describe(self) -> str:
        if not self.active:
            return "no overlap (each sample is labeled once)"
        return f"{self.overlap} annotators on {self.fraction:.0%} of samples"


def read_settings(conn: sa.Connection, project_id: int) -> OverlapSettings:
    """The project's overlap settings as stored now (not a cached copy: a lead may change
    them while the team labels)."""
    raw = conn.execute(
        sa.select(t.project.c.settings).where(t.project.c.id == project_id)
    ).scalar_one()
    return OverlapSettings.from_settings(json.loads(raw or "{}"))


def handled_by(project_id: int, annotator: str, sample_id: Any) -> Any:
    """SQL condition: ``annotator`` ever labeled or skipped the sample (undone or not): such a
    sample is never handed to them again as an overlap sample."""
    e = t.label_event.alias("handled")
    return sa.exists().where(
        e.c.project_id == project_id,
        e.c.sample_id == sample_id,
        e.c.annotator == annotator,
        e.c.action.in_(("label", "skip")),
    )


def undone_ids(project_id: int) -> Any:
    """SQL subquery: ids of the project's events cancelled by an undo. An undo cancels its
    target unless a redo cancels the undo; nothing cancels a redo (see
    :mod:`labeler.store.derive`), so two levels decide it exactly. Not correlated with any
    outer row: the database computes the (short) list once per statement."""
    u = t.label_event.alias("ev_undo")
    r = t.label_event.alias("ev_redo")
    redone = sa.exists().where(
        r.c.project_id == project_id,
        r.c.sample_id == u.c.sample_id,
        r.c.action == "redo",
        r.c.target_event_id == u.c.id,
    )
    return sa.select(u.c.target_event_id).where(
        u.c.project_id == project_id,
        u.c.action == "undo",
        u.c.target_event_id.is_not(None),
        ~redone,
    )


def not_undone(project_id: int, event: Any) -> Any:
    """SQL condition: the event ``event`` (a table alias) is active (not undone), for
    statements over many events: one list of undone ids per statement."""
    return event.c.id.not_in(undone_ids(project_id))


def has_active_label(project_id: int, sample_id: Any, annotator: Any) -> Any:
    """SQL condition: ``annotator`` (a column or value) has an active (not undone) label
    event on the sample; correlated by sample (the events of that one sample are looked at,
    by index), for statements over a few samples such as the claims."""
    e = t.label_event.alias("lab")
    u = t.label_event.alias("lab_undo")
    r = t.label_event.alias("lab_redo")
    redone = sa.exists().where(
        r.c.project_id == project_id,
        r.c.sample_id == u.c.sample_id,
        r.c.action == "redo",
        r.c.target_event_id == u.c.id,
    )
    undone = sa.exists().where(
        u.c.project_id == project_id,
        u.c.sample_id == e.c.sample_id,
        u.c.action == "undo",
        u.c.target_event_id == e.c.id,
        ~redone,
    )
    return sa.exists().where(
        e.c.project_id == project_id,
        e.c.sample_id == sample_id,
        e.c.annotator == annotator,
        e.c.action == "label",
        ~undone,
    )


def _pending(project_id: int, settings: OverlapSettings, annotator: str) -> list[Any]:
    st = t.sample_state
    return [
        st.c.project_id == project_id,
        st.c.status == "labeled",
        st.c.adjudicated.is_(sa.false()),
        st.c.n_annotators < settings.overlap,
        settings.sql_in_overlap(st.c.sample_id),
        ~handled_by(project_id, annotator, st.c.sample_id),
    ]


def pending_ids(
    conn: sa.Connection,
    project_id: int,
    settings: OverlapSettings,
    annotator: str,
    limit: int,
) -> list[int]:
    """Overlap samples that already have a label but still need ``annotator``'s (oldest
    first): they come before the ranked queue, so overlap completes while it is fresh."""
    if not settings.active or limit <= 0:
        return []
    st = t.sample_state
    query = (
        sa.select(st.c.sample_id)
        .where(*_pending(project_id, settings, annotator))
        .order_by(st.c.sample_id)
        .limit(limit)
    )
    return [int(s) for s in conn.execute(query).scalars()]


def open_overlap_ids(
    conn: sa.Connection,
    project_id: int,
    settings: OverlapSettings,
    annotator: str,
    sample_ids: Collection[int],
) -> set[int]:
    """Which of ``sample_ids`` (labeled ones) still need ``annotator``'s label."""
    if not settings.active or not sample_ids:
        return set()
    st = t.sample_state
    ids = [int(s) for s in sample_ids]
    out: set[int] = set()
    for start in range(0, len(ids), 500):
        out.update(
            conn.execute(
                sa.select(st.c.sample_id).where(
                    st.c.sample_id.in_(ids[start : start + 500]),
                    *_pending(project_id, settings, annotator),
                )
            ).scalars()
        )
    return out


@dataclass(frozen=True)
class OverlapProgress:
    settings: OverlapSettings
    planned: int  # overlap samples in the project
    started: int  # of those, with at least one label
    complete: int  # with k annotators, or adjudicated


def overlap_progress(conn: sa.Connection, project_id: int) -> OverlapProgress:
    """How far the overlap has come (counted in the database)."""
    settings = read_settings(conn, project_id)
    s, st = t.sample, t.sample_state
    if not settings.active:
        return OverlapProgress(settings, 0, 0, 0)
    planned = conn.execute(
        sa.select(sa.func.count())
        .select_from(s)
        .where(s.c.project_id == project_id, settings.sql_in_overlap(s.c.id))
    ).scalar_one()
    started, complete = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(
                sa.func.sum(
                    sa.case(
                        (
                            sa.or_(
                                st.c.n_annotators >= settings.overlap,
                                st.c.adjudicated.is_(sa.true()),
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).where(
            st.c.project_id == project_id,
            st.c.status == "labeled",
            settings.sql_in_overlap(st.c.sample_id),
        )
    ).one()
    return OverlapProgress(settings, int(planned), int(started), int(complete))
