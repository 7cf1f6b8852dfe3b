"""Store operations behind the annotate view. Plain functions (no Qt), run on the GUI's one
database worker thread; each returns plain records that are handed to the GUI thread.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from labeler.app_settings import ProjectSettings
from labeler.gui import unreleased_claims
from labeler.gui.image_cache import DECODED
from labeler.gui.session import Counts, Item, ModelStatus, model_status
from labeler.store import ProjectInfo, ProjectLocation, Provenance, Store
from labeler.store.annotator_queue import candidates, outlook
from labeler.store.database import INTERACTIVE_TIMEOUTS, ServerTimeouts
from labeler.store.integrity import check_or_raise
from labeler.store.labels import Reverted
from labeler.store.location import resolve


@dataclass(frozen=True)
class ProjectOverview:
    """Everything the window shows about an opened project."""

    info: ProjectInfo
    location: ProjectLocation
    settings: ProjectSettings
    counts: Counts
    model: ModelStatus


@dataclass(frozen=True)
class Reversal:
    """Outcome of undo/redo: the affected event, the sample to show, fresh counts."""

    reverted: Reverted | None
    item: Item | None
    counts: Counts


def open_store(
    project: str | Path | ProjectLocation, timeouts: ServerTimeouts = INTERACTIVE_TIMEOUTS
) -> Store:
    """Open a project; a SQLite database is checked (``PRAGMA quick_check``) first, so a
    damaged one is refused (:class:`~labeler.store.integrity.DamagedProject`) before
    anything writes to it. A PostgreSQL server is waited on for at most ``timeouts``."""
    location = project if isinstance(project, ProjectLocation) else resolve(project)
    if location.db_path is not None:
        check_or_raise(location.db_path)
    return Store.open(location, timeouts=timeouts)


def counts(store: Store) -> Counts:
    c = store.counts()  # a read of a few rows: constant cost at any project size
    return Counts(total=c.samples, labeled=c.labeled, per_class=dict(c.per_class))


def current_model(store: Store) -> ModelStatus:
    runs = store.models.runs()
    latest = runs[-1] if runs else None
    ok = [r for r in runs if r.status == "ok"]
    return model_status(ok[-1] if ok else None, latest)


def latest_run_id(store: Store) -> int:
    """The store's cheap "something was trained" counter (see ``ModelWatch.poll``)."""
    return store.models.latest_run_id()


def overview(store: Store) -> ProjectOverview:
    info = store.info
    return ProjectOverview(
        info=info,
        location=store.location,
        settings=ProjectSettings.from_project(info.settings),
        counts=counts(store),
        model=current_model(store),
    )


@dataclass(frozen=True)
class Fetched:
    """A fetch's outcome: the samples claimed, and whether the store had no more to give
    (no unlabeled sample left that is neither excluded nor held by someone else)."""

    items: list[Item]
    exhausted: bool
    # team mode, when exhausted: samples colleagues hold that may still come to this
    # annotator (see :meth:`labeler.store.claims.Claims.held_for_later`)
    held_elsewhere: int = 0


CLAIM_ROUNDS = 8  # a fetch that loses claim races asks again, for other samples, this often


def fetch(
    store: Store,
    n: int,
    exclude: Collection[int] = (),
    annotator: str | None = None,
    session: str | None = None,
) -> Fetched:
    """The next ``n`` samples to show, best first, leaving out ``exclude``.

    They come from :func:`labeler.store.annotator_queue.candidates`: overlap samples that
    still need this annotator, the ranked queue, then unlabeled samples in import order.
    With ``annotator`` the samples are claimed for them (and their app ``session``): samples a
    colleague holds are left out, and ours are left out of theirs. Samples a colleague claims
    between our read and our claim are lost to them; the fetch then asks again for others,
    so losing a race never looks like an empty queue: ``exhausted`` is True only when the
    store has nothing left for this annotator now (:func:`~labeler.store.annotator_queue.
    outlook` decides it from one snapshot), and ``held_elsewhere`` then counts what
    colleagues hold that may still come back.
    """
    skip = set(exclude)
    got: list[tuple[int, Provenance, int | None]] = []
    exhausted = False
    later = 0
    for _round in range(CLAIM_ROUNDS if annotator is not None else 1):
        if annotator is None:
            chosen = candidates(store, n - len(got), skip)
            exhausted = not chosen
            got += chosen
            break
        seen = outlook(store, n - len(got), skip, annotator, session)
        chosen, later = seen.chosen, seen.held_elsewhere
        if not chosen:
            exhausted = True
            break
        # claim only what we will show: a colleague who claimed one meanwhile keeps it
        held = set(store.claims.claim(annotator, [sid for sid, _, _ in chosen], session=session))
        got += [c for c in chosen if c[0] in held]
        # the lost ones are not skipped: the next round leaves out what colleagues hold at
        # that moment, and offers again what they freed or still need this annotator for
        skip.update(held)
        if len(got) >= n:
            break
    items = items_for(store, got)
    if store.info.modality == "image":  # decoded here, off the GUI thread
        DECODED.preload(item.sample.file_ref for item in items)
    return Fetched(items, exhausted, later)


def fetch_items(
    store: Store, n: int, exclude: Collection[int] = (), annotator: str | None = None
) -> list[Item]:
    """The items of :func:`fetch` (the annotator's claims not tied to an app session)."""
    return fetch(store, n, exclude, annotator).items


def start_session(store: Store, annotator: str, session: str) -> int:
    """At open: release what this annotator's dead app sessions still hold, and the claims
    of sessions of this machine that could not give them back when they closed (the server
    was down then: :mod:`labeler.gui.unreleased_claims`)."""
    n = store.claims.release_dead_sessions(annotator, session)
    key = unreleased_claims.project_key(store.location)
    for old in unreleased_claims.left_behind(key, annotator):
        if old != session:
            n += store.claims.release(annotator, session=old)
            unreleased_claims.forget(key, annotator, old)
    return n


def release_on_close(store: Store, annotator: str, session: str, server_away: bool = False) -> int:
    """At close: give back what the session holds. The ledger notes the session first, so
    claims the server did not let go of are given back at the next open; with the
    ``server_away`` they are only noted (closing does not wait on a server that is gone)."""
    key = unreleased_claims.project_key(store.location)
    unreleased_claims.remember(key, annotator, session)
    if server_away:
        return 0
    n = store.claims.release(annotator, session=session)
    unreleased_claims.forget(key, annotator, session)
    return n


def ping(store: Store) -> int:
    """A cheap round trip to the database (is the server back?)."""
    return store.models.latest_run_id()


def renew_claims(store: Store, annotator: str, session: str, keep: Collection[int] | None) -> int:
    """The session's heartbeat: renew the claims on ``keep``, give back the others (keep
    None: renew them all)."""
    return store.claims.renew(annotator, session, keep=keep)


def release_claims(
    store: Store,
    annotator: str,
    session: str | None = None,
    sample_ids: Collection[int] | None = None,
) -> int:
    ids = None if sample_ids is None else list(sample_ids)
    return store.claims.release(annotator, ids, session=session)


def hand_over_claims(store: Store, old: str, new: str, session: str | None = None) -> int:
    """The annotator now works as ``new``: ``old``'s claims (of ``session``) become ``new``'s."""
    return store.claims.rename(old, new, session=session)


def items_for(store: Store, chosen: Sequence[tuple[int, Provenance, int | None]]) -> list[Item]:
    ids = [sid for sid, _, _ in chosen]
    samples = {s.id: s for s in store.samples.get_many(ids)}
    predictions = store.models.predictions(ids) if ids else {}
    return [
        Item(samples[sid], prov, rank, predictions.get(sid))
        for sid, prov, rank in chosen
        if sid in samples
    ]


def commit_label(
    store: Store,
    item: Item,
    labels: Sequence[str],
    annotator: str,
    time_spent_ms: int,
    session: str,
    retry: bool = False,
) -> int:
    """Append the label event; it is committed when this returns. ``retry``: an earlier
    attempt failed with its outcome unknown; it is not recorded a second time."""
    return store.labels.add(
        item.sample_id,
        list(labels),
        annotator,
        time_spent_ms=time_spent_ms,
        provenance=item.provenance,
        session=session,
        retry=retry,
    )


def commit_skip(
    store: Store, item: Item, annotator: str, time_spent_ms: int, session: str, retry: bool
) -> int:
    return store.labels.skip(
        item.sample_id,
        annotator,
        time_spent_ms=time_spent_ms,
        provenance=item.provenance,
        session=session,
        retry=retry,
    )


def commit_flag(store: Store, item: Item, annotator: str, comment: str, session: str) -> int:
    return store.labels.flag(item.sample_id, annotator, comment, session=session)


def undo(
    store: Store,
    annotator: str,
    session: str,
    retry_after: int | None = None,
    known: Mapping[int, Item] | None = None,
) -> Reversal:
    """Undo the annotator's latest decision. The sample shown again is held again (its claim
    may have been given back) in the undo's own transaction; ``known`` (the session's recent
    items by sample id) saves reading back a sample the screen still has. ``retry_after``:
    see :meth:`labeler.store.labels.LabelLog.undo`."""
    reverted = store.labels.undo(annotator, session=session, hold=True, retry_after=retry_after)
    return _reversal(store, reverted, known)


def redo(store: Store, annotator: str, session: str, retry_after: int | None = None) -> Reversal:
    reverted = store.labels.redo(annotator, session=session, retry_after=retry_after)
    return _reversal(store, reverted)


def _reversal(
    store: Store, reverted: Reverted | None, known: Mapping[int, Item] | None = None
) -> Reversal:
    item = None
    if reverted is not None:
        ev = reverted.target  # the event carries the provenance it was given under
        prov = Provenance(ev.model_version, ev.strategy, ev.score)
        item = (known or {}).get(ev.sample_id)
        if item is None or item.provenance != prov:
            found = items_for(store, [(ev.sample_id, prov, None)])
            item = found[0] if found else None
    return Reversal(reverted, item, counts(store))


def save_project_settings(store: Store, settings: ProjectSettings) -> ProjectOverview:
    store.update_settings(**settings.to_project(store.info.settings))
    return overview(store)
