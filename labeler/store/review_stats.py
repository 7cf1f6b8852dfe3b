"""Review statistics aggregated in the database: counts grouped by label set (class balance,
given vs predicted), the label events of samples with several annotators (agreement), and
the out-of-fold probabilities of single-label samples (suspected errors).

A million labeled samples have only a handful of distinct label sets, so grouping by the
stored JSON label list in SQL and decoding each distinct value once replaces a million rows
crossing into Python.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.derive import EventView, cancelled_ids
from labeler.store.records import dumps, loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store

LabelSet = tuple[str, ...]


def label_set_counts(store: Store) -> Counter[LabelSet]:
    """How many labeled samples carry each label set."""
    st = t.sample_state
    query = (
        sa.select(st.c.labels, sa.func.count())
        .where(st.c.project_id == store.project_id, st.c.status == "labeled")
        .group_by(st.c.labels)
    )
    out: Counter[LabelSet] = Counter()
    with store.read() as conn:
        for labels, n in conn.execute(query):
            out[loads_labels(labels) or ()] += int(n)
    return out


def _with_oof_prediction(store: Store, *also: Any) -> Any:
    """sample_state joined with the out-of-fold predictions, shaped so that SQLite scans
    sample_state and probes prediction by key (``LEFT JOIN`` + ``IS NOT NULL``): as an inner
    join its planner walks the confidence index instead, a random lookup per row (6x
    slower at a million rows). Conditions on prediction go in ``also`` (the ON clause): in
    the WHERE clause they would turn the join back into an inner one."""
    st, p = t.sample_state, t.prediction
    on = sa.and_(
        p.c.project_id == store.project_id,
        p.c.sample_id == st.c.sample_id,
        p.c.out_of_fold.is_(sa.true()),
        *also,
    )
    return st.outerjoin(p, on)


def _labeled_with_oof(store: Store) -> list[Any]:
    st, p = t.sample_state, t.prediction
    return [
        st.c.project_id == store.project_id,
        st.c.status == "labeled",
        p.c.sample_id.is_not(None),
    ]


def given_vs_predicted(store: Store) -> Counter[tuple[LabelSet, LabelSet]]:
    """How many labeled samples with an out-of-fold prediction have each (given label set,
    predicted label set) pair."""
    st, p = t.sample_state, t.prediction
    query = (
        sa.select(st.c.labels, p.c.labels, sa.func.count())
        .select_from(_with_oof_prediction(store))
        .where(*_labeled_with_oof(store))
        .group_by(st.c.labels, p.c.labels)
    )
    out: Counter[tuple[LabelSet, LabelSet]] = Counter()
    with store.read() as conn:
        for given, predicted, n in conn.execute(query):
            out[(loads_labels(given) or (), loads_labels(predicted) or ())] += int(n)
    return out


@dataclass(frozen=True)
class SharedLabels:
    """Each annotator's active label on the samples two or more annotators labeled (columns
    ``sample_id``, ``annotator``, ``labels``, as ``LabelLog.by_annotator``), and everyone
    with an active label anywhere in the project."""

    frame: pd.DataFrame
    annotators: list[str]


def shared_labels(store: Store) -> SharedLabels:
    """What inter-annotator agreement needs, without reading every label event: only the
    samples whose derived state counts two or more annotators."""
    st, le = t.sample_state, t.label_event
    pid = store.project_id
    shared = sa.select(st.c.sample_id).where(st.c.project_id == pid, st.c.n_annotators >= 2)
    # an adjudicated sample's state names the adjudicator, not the annotator(s) behind it
    adjudicated_single = sa.select(st.c.sample_id).where(
        st.c.project_id == pid, st.c.n_annotators == 1, st.c.adjudicated.is_(sa.true())
    )
    events = (
        sa.select(
            le.c.id, le.c.sample_id, le.c.annotator, le.c.action, le.c.labels, le.c.target_event_id
        )
        .where(
            le.c.project_id == pid,
            le.c.action.in_(("label", "undo", "redo")),
            sa.or_(le.c.sample_id.in_(shared), le.c.sample_id.in_(adjudicated_single)),
        )
        .order_by(le.c.id)
    )
    single = (
        sa.select(st.c.annotator)
        .where(
            st.c.project_id == pid,
            st.c.status == "labeled",
            st.c.n_annotators == 1,
            st.c.adjudicated.is_(sa.false()),
        )
        .distinct()
    )
    with store.read() as conn:
        rows = conn.execute(events).all()
        names = {a for a in conn.execute(single).scalars() if a is not None}
    views = [
        EventView(r.id, r.action, r.annotator, loads_labels(r.labels), r.target_event_id)
        for r in rows
    ]
    cancelled = cancelled_ids(views)
    latest: dict[tuple[int, str], LabelSet] = {}
    for r, v in zip(rows, views, strict=True):
        if v.action == "label" and v.id not in cancelled:
            latest[(r.sample_id, r.annotator)] = v.labels or ()
    per_sample = Counter(s for s, _ in latest)
    names |= {a for _, a in latest}
    frame = pd.DataFrame(
        [(s, a, lab) for (s, a), lab in latest.items() if per_sample[s] >= 2],
        columns=["sample_id", "annotator", "labels"],
    )
    return SharedLabels(frame, sorted(names))


@dataclass(frozen=True)
class Probabilities:
    """Labeled samples with out-of-fold probabilities: ids, given label sets, and an n x K
    matrix with columns in the project's class order (a missing class counts 0)."""

    sample_ids: np.ndarray
    given: list[LabelSet]
    probs: np.ndarray


def _plain_key(name: str) -> bool:
    """Whether ``name`` is stored as a JSON object key without escapes (``dumps`` keeps
    non-ASCII as is), so that SQLite's ``json_extract`` path ``$."name"`` finds it."""
    return dumps(name) == f'"{name}"'


def _probability(store: Store, name: str) -> Any:
    """Class ``name``'s probability in the prediction's stored JSON, NULL when absent.
    PostgreSQL: ``->>`` with the name as a bound key (any name). SQLite matches a path
    label against the key's raw JSON text and ends it at the first ``"``: a name stored
    with escapes (``"``, ``\\``, control characters) would read as NULL, so those names
    are looked up through ``json_each`` (exact, several times slower per column)."""
    p = t.prediction
    if store.engine.dialect.name == "postgresql":
        # the column is TEXT: PostgreSQL needs it cast to JSON for ->>
        return sa.cast(p.c.probabilities, sa.JSON)[name].as_float()
    if _plain_key(name):
        return sa.func.json_extract(p.c.probabilities, f'$."{name}"')
    pairs = sa.func.json_each(p.c.probabilities).table_valued("key", "value")
    return sa.select(pairs.c.value).where(pairs.c.key == name).scalar_subquery()


def oof_probabilities(
    store: Store, classes: list[str], multi_label: bool = False, chunk: int = 100_000
) -> Probabilities:
    """The out-of-fold probabilities of the labeled samples, by sample id: those with
    exactly one label, or every one when ``multi_label``.
    The database takes each class's probability out of the stored JSON (see
    :func:`_probability`), so no JSON is parsed in Python."""
    st, p = t.sample_state, t.prediction
    columns = [_probability(store, name) for name in classes]
    query = (
        sa.select(st.c.sample_id, st.c.labels, *columns)
        .select_from(
            _with_oof_prediction(store, p.c.probabilities.is_not(None), p.c.probabilities != "{}")
        )
        .where(*_labeled_with_oof(store))
    )
    decoded: dict[str, LabelSet] = {}  # a handful of distinct label lists
    ids: list[np.ndarray] = []
    given: list[LabelSet] = []
    blocks: list[np.ndarray] = []
    with store.read() as conn:
        result = conn.execute(query)
        cursor = result.cursor  # plain tuples: no per-row processing for a million rows
        try:
            while rows := cursor.fetchmany(chunk):
                frame = pd.DataFrame.from_records(rows, columns=["sample_id", "labels", *classes])
                for text in frame["labels"].unique():
                    if text not in decoded:
                        decoded[text] = loads_labels(text) or ()
                labs = frame["labels"].map(decoded)
                keep = np.ones(len(frame), dtype=bool)
                if not multi_label:
                    keep = (labs.map(len) == 1).to_numpy()
                ids.append(frame["sample_id"].to_numpy(dtype=np.int64)[keep])
                given.extend(labs[keep])
                values = frame[list(classes)].to_numpy(dtype=float, na_value=0.0)[keep]
                blocks.append(values.reshape(-1, len(classes)))
        finally:
            result.close()
    probs = np.concatenate(blocks) if blocks else np.zeros((0, len(classes)))
    sample_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    order = np.argsort(sample_ids, kind="stable")  # by sample id, whatever the plan's order
    return Probabilities(sample_ids[order], [given[i] for i in order], probs[order])
