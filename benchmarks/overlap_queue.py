"""What overlap costs the queue fetch and what the team review queries cost, on one SQLite
project (the embedded default; PostgreSQL plans these queries with its own indexes).

A project of ``--samples`` texts (default 200,000), ``--labeled`` of them (default 100,000)
labeled by an import (annotator "import", one label event each) plus ``--team-labels`` label
events (default 20,000) from three annotators with times per label, and a ranked queue of
500 unlabeled samples (as a retrain leaves it). Timed, median of
``--repeat`` runs, in one run so the ratios compare like with like:

* ``fetch``: :func:`labeler.store.annotator_queue.candidates` for 20 samples plus the claim
  :func:`labeler.gui.annotation_ops.fetch` makes, with no overlap (the baseline), with
  overlap 2 on 10 % of samples when overlap samples are waiting (the common case: the LIMIT
  stops the scan early) and when none is waiting for the annotator (the worst case: every
  labeled sample is looked at);
* ``annotator_stats`` and ``adjudication_queue``: the review tabs' queries.

    python benchmarks/overlap_queue.py [--samples N] [--labeled N] [--team-labels N]

Writes ``benchmarks/results/overlap_queue.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build(folder: Path, n: int, labeled: int, team_labels: int) -> object:
    import numpy as np
    import sqlalchemy as sa

    from labeler.store import Store
    from labeler.store import schema as t
    from labeler.store.label_cut import append_events

    store = Store.create(folder, modality="text", labels=["a", "b", "c"])
    rows = [(f"s{i}", f"h{i}", f"text {i}", None, None, None) for i in range(n)]
    with store.samples.bulk_import("bench", "x") as batch:
        ids = batch.add_samples(rows)
        batch.add_labels(ids[:labeled], [["abc"[i % 3]] for i in range(labeled)])
    rng = np.random.default_rng(0)
    names = ("alice", "bob", "carol")
    # the team's label events on already labeled samples (a second opinion each), written in
    # one transaction through the same event writer the label log uses, and their states
    from labeler.store.database import utcnow

    chosen = [int(i) for i in rng.choice(labeled, team_labels, replace=False)]
    events = [
        {
            "sample_id": ids[i],
            "annotator": names[k % 3],
            "action": "label",
            "labels": json.dumps(["abc"[int(rng.integers(0, 3))]]),
            "created_at": utcnow(),
            "time_spent_ms": int(rng.lognormal(8, 0.5)),
        }
        for k, i in enumerate(chosen)
    ]
    st = t.sample_state
    with store.write() as conn:
        event_ids = append_events(conn, store.project_id, events)
        # the derived state of each such sample: two annotators, the latest label current
        conn.execute(
            st.update()
            .where(st.c.sample_id == sa.bindparam("sid"))
            .values(
                labels=sa.bindparam("labels"),
                annotator=sa.bindparam("who"),
                event_id=sa.bindparam("eid"),
                n_annotators=2,
                disagreement=sa.bindparam("differ"),
            ),
            [
                {
                    "sid": e["sample_id"],
                    "labels": e["labels"],
                    "who": e["annotator"],
                    "eid": eid,
                    "differ": e["labels"] != json.dumps(["abc"[i % 3]]),
                }
                for e, eid, i in zip(events, event_ids, chosen, strict=True)
            ],
        )
    # a ranked queue, as a retrain leaves it (the fetch's usual source)
    store.models.replace_queue(None, "margin", [(s, 0.5) for s in ids[labeled : labeled + 500]])
    return store


def timed(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--labeled", type=int, default=100_000)
    parser.add_argument("--team-labels", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/overlap_queue.json")
    args = parser.parse_args()

    from labeler.review.adjudication import adjudication_queue
    from labeler.store.annotator_queue import candidates
    from labeler.store.overlap import OverlapSettings
    from labeler.store.review_team import annotator_stats

    work = Path(tempfile.mkdtemp(prefix="overlap-bench-"))
    started = time.perf_counter()
    store = build(work / "p", args.samples, args.labeled, args.team_labels)
    build_s = time.perf_counter() - started

    def fetch(annotator: str) -> None:
        held = store.claims.held_by_others(annotator, "s")
        chosen = [sid for sid, _, _ in candidates(store, 20, held, annotator)]
        store.claims.claim(annotator, chosen, session="s")
        store.claims.release(annotator, chosen, session="s")

    def set_overlap(k: int, fraction: float) -> None:
        store.update_settings(**OverlapSettings(k, fraction).to_settings(store.info.settings))

    results: dict[str, float] = {}
    set_overlap(1, 1.0)
    results["fetch_no_overlap_s"] = timed(lambda: fetch("dave"), args.repeat)
    set_overlap(2, 0.1)
    results["fetch_overlap_waiting_s"] = timed(lambda: fetch("dave"), args.repeat)
    # "import" labeled every labeled sample: nothing is waiting for it, the scan runs through
    results["fetch_overlap_none_waiting_s"] = timed(lambda: fetch("import"), args.repeat)
    results["annotator_stats_s"] = timed(lambda: annotator_stats(store), args.repeat)
    results["adjudication_queue_s"] = timed(lambda: adjudication_queue(store), args.repeat)
    queue = adjudication_queue(store)
    out = {
        "samples": args.samples,
        "labeled": args.labeled,
        "team_label_events": args.team_labels,
        "repeat": args.repeat,
        "build_s": round(build_s, 1),
        "disagreements": queue.total,
        **{k: round(v, 4) for k, v in results.items()},
        "fetch_overlap_waiting_vs_baseline": round(
            results["fetch_overlap_waiting_s"] / results["fetch_no_overlap_s"], 2
        ),
        "fetch_overlap_none_waiting_vs_baseline": round(
            results["fetch_overlap_none_waiting_s"] / results["fetch_no_overlap_s"], 2
        ),
    }
    store.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
