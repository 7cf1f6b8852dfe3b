"""Overlap through the real annotation controller: several annotators (each the app's own
controller on its own database worker and store connection) race for samples; overlap
samples go to k distinct annotators, never twice to one, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict

from labeler.gui.controller import AnnotationController
from labeler.store import Store
from labeler.store.overlap import OverlapSettings
from tests.gui.gui_helpers import label_when_free, project_arg


def _complete(store: Store, overlap: OverlapSettings) -> bool:
    who: dict[int, set[str]] = defaultdict(set)
    for e in store.labels.events():
        if e.action == "label":
            who[e.sample_id].add(e.annotator)
    return all(len(who[s]) >= overlap.required(s) for s in store.samples.ids())


def test_racing_annotators_share_overlap_samples(qtbot, text_project) -> None:  # type: ignore[no-untyped-def]
    store = text_project(n=60)
    overlap = OverlapSettings(2, 0.5)
    store.update_settings(**overlap.to_settings(store.info.settings))
    names = ["ann", "bob", "cyd"]
    # poll often: a colleague's label makes an overlap sample due for the others
    team = [AnnotationController(n, retrainer_factory=lambda *a: None, poll_ms=50) for n in names]
    shown: dict[str, list[int]] = defaultdict(list)
    strategies: dict[int, set[str | None]] = defaultdict(set)

    def on_shown(c: AnnotationController, item: object) -> None:
        if item is None:
            return
        shown[c.annotator].append(item.sample_id)  # type: ignore[attr-defined]
        strategies[item.sample_id].add(item.provenance.strategy)  # type: ignore[attr-defined]
        label = "pos" if c.annotator != "cyd" else "neg"
        label_when_free(c, item, [label])

    try:
        for c in team:
            c.itemShown.connect((lambda cc: lambda item: on_shown(cc, item))(c))
        for c in team:
            c.open(project_arg(store))
        qtbot.waitUntil(lambda: _complete(store, overlap), timeout=120_000)
        qtbot.waitUntil(lambda: all(c.current is None and not c.busy for c in team), timeout=60_000)
    finally:
        for c in team:
            c.close()
            c.deleteLater()

    labels = [e for e in store.labels.events() if e.action == "label"]
    pairs = [(e.sample_id, e.annotator) for e in labels]
    assert len(pairs) == len(set(pairs))  # never twice to the same annotator
    for name, ids in shown.items():
        assert len(ids) == len(set(ids)), name  # nor shown twice
    who: dict[int, set[str]] = defaultdict(set)
    for sid, name in pairs:
        who[sid].add(name)
    ids = store.samples.ids()
    assert {s: len(who[s]) for s in ids} == {s: overlap.required(s) for s in ids}
    in_overlap = [s for s in ids if overlap.in_overlap(s)]
    assert 20 <= len(in_overlap) <= 40
    # the second opinion on an overlap sample came through the overlap queue or the ranking
    assert all(strategies[s] <= {None, "overlap"} for s in ids)
    # and agreement can be computed on them: cyd disagrees with the others
    assert sum(store.labels.state(s).disagreement for s in in_overlap) > 0
