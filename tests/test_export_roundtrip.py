"""Each export format round-trips: export, import into a fresh project, same labels."""

from __future__ import annotations

import numpy as np
import pytest
from _review_data import add_samples, labeled_project

from labeler.data.importer import import_file
from labeler.export import export_dataset
from labeler.store import Store

EXT = {"csv": "csv", "parquet": "parquet", "jsonl": "jsonl", "label-studio": "json"}


def labels_by_external_id(store: Store) -> dict[str, tuple[str, ...]]:
    current = store.labels.current()
    samples = {s.id: s for s in store.samples.get_many(list(current["sample_id"]))}
    return {
        samples[sid].external_id: tuple(sorted(labels))
        for sid, labels in zip(current["sample_id"], current["labels"], strict=True)
    }


def fresh_like(store: Store, tmp_path, fmt: str) -> Store:
    info = store.info
    return Store.create(
        tmp_path / f"copy-{fmt}",
        modality=info.modality,
        labels=info.label_names,
        task_type=info.task_type,
    )


@pytest.mark.parametrize("fmt", list(EXT))
def test_text_project_round_trips(make_store, tmp_path, fmt):
    store = make_store(labels=("pos", "neg", "mixed"))
    ids, _, _ = labeled_project(store, n=30)
    store.labels.add(ids[3], ["mixed"], "bob")
    store.labels.adjudicate(ids[4], ["pos"], "lead")
    add_samples(store, ["never labeled"], prefix="u")
    out = tmp_path / f"data.{EXT[fmt]}"
    export_dataset(store, fmt, out, chunk_size=8)

    with fresh_like(store, tmp_path, fmt) as copy:
        report = import_file(copy, out)
        assert report.added == 30 and report.labels == 30
        assert labels_by_external_id(copy) == labels_by_external_id(store)
        texts = {s.external_id: s.text for s in copy.samples.get_many(copy.samples.ids())}
        assert texts["s7"] == store.samples.get(ids[7]).text


@pytest.mark.parametrize("fmt", list(EXT))
def test_multi_label_tabular_project_round_trips(make_store, tmp_path, fmt):
    store = make_store(modality="tabular", labels=("red", "round", "big"), task_type="multi-label")
    rng = np.random.default_rng(1)
    rows = [{"width": float(rng.random()), "height": float(rng.random())} for _ in range(12)]
    ids = add_samples(store, [None] * 12, data=rows)
    choices = [["red"], ["round", "big"], ["red", "round", "big"]]
    for i, sid in enumerate(ids):
        store.labels.add(sid, choices[i % 3], "alice")
    out = tmp_path / f"data.{EXT[fmt]}"
    export_dataset(store, fmt, out)

    with fresh_like(store, tmp_path, fmt) as copy:
        import_file(copy, out)
        assert labels_by_external_id(copy) == labels_by_external_id(store)
        back = {s.external_id: s.data for s in copy.samples.get_many(copy.samples.ids())}
        assert back["s5"]["width"] == pytest.approx(rows[5]["width"])
