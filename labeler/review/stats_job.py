"""Review statistics as one background job: the summary, the suspected-error list, the audit
queue, the annotator names and every plot rendered to PNG, with staged progress.

:func:`load_review_stats` is a plain function (progress callback, cancel token) used directly
by tests. The review view runs it in a worker process, so a million rows of Python work never
hold the GUI's interpreter lock: :func:`init_worker` hands the process a queue for progress
and an event for cancelling, :func:`review_stats_in_worker` opens the project there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labeler.errors import Cancelled
from labeler.orphan import exit_when_orphaned
from labeler.review import plots
from labeler.review.service import STAGES, ReviewSummary, figures, summarize
from labeler.store import ProjectLocation, Store
from labeler.store.review_audit import AuditRow, audit_queue
from labeler.store.review_suspects import SuspectRow, suspects
from labeler.store.review_table import annotators

ProgressFn = Callable[[int, int, str], None]  # (stages done, stages in all, the stage starting)
EXTRA_STAGES = ("audit queue", "plots")
TOTAL_STAGES = len(STAGES) + len(EXTRA_STAGES)
SUSPECTS_SHOWN = 500


@dataclass(frozen=True)
class ReviewStats:
    summary: ReviewSummary
    suspects: list[SuspectRow]
    audit: list[AuditRow]
    annotators: list[str]
    pngs: dict[str, bytes]  # plot name -> PNG


def load_review_stats(
    store: Store, progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None
) -> ReviewStats:
    """Everything the statistics tabs show. ``cancelled()`` is checked between stages (raises
    :class:`~labeler.errors.Cancelled`)."""

    def report(done: int, total: int, stage: str) -> None:
        if cancelled is not None and cancelled():
            raise Cancelled()
        if progress is not None:
            progress(done, total, stage)

    def stage(done: int, total: int, name: str) -> None:
        if done < total:  # the summary's own "done" is not the end of this job
            report(done, TOTAL_STAGES, name)

    summary = summarize(store, stage)
    report(len(STAGES), TOTAL_STAGES, EXTRA_STAGES[0])
    listed = suspects(store, limit=SUSPECTS_SHOWN)
    audit = audit_queue(store)
    names = annotators(store)
    report(len(STAGES) + 1, TOTAL_STAGES, EXTRA_STAGES[1])
    pngs = {name: plots.png_bytes(fig) for name, fig in figures(summary).items()}
    report(TOTAL_STAGES, TOTAL_STAGES, "done")
    return ReviewStats(summary, listed, audit, names, pngs)


# -- in a worker process -------------------------------------------------------------------

_channel: dict[str, Any] = {}


def init_worker(progress_queue: Any, cancel_event: Any) -> None:
    """Process-pool initializer: where to send progress, what to watch for cancelling; the
    worker ends with the application (also when that is killed)."""
    exit_when_orphaned()
    _channel["queue"] = progress_queue
    _channel["cancel"] = cancel_event


def review_stats_in_worker(location: ProjectLocation, ticket: int) -> ReviewStats:
    """:func:`load_review_stats` in a worker process; progress goes to the queue as
    ``(ticket, done, total, stage)``."""
    queue, cancel = _channel.get("queue"), _channel.get("cancel")

    def progress(done: int, total: int, stage: str) -> None:
        if queue is not None:
            queue.put((ticket, done, total, stage))

    with Store.open(location) as store:
        return load_review_stats(
            store, progress, None if cancel is None else lambda: bool(cancel.is_set())
        )
