"""An export reads one label cut: labels written by someone else while it streams its chunks
do not mix in (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading

from _review_data import add_samples, labeled_project

from labeler.export import export_dataset
from labeler.store import Store
from labeler.store.label_cut import label_watermark


def _rows(path) -> dict[str, str]:
    return {r["id"]: r["label"] for r in map(json.loads, path.read_text().splitlines())}


def test_labels_written_between_chunks_do_not_mix_into_the_export(make_store, tmp_path):
    store = make_store(labels=("a", "b", "c"))
    ids, _, y = labeled_project(store, n=30)
    fresh = add_samples(store, ["new one", "new two"], prefix="new")
    cut = label_watermark(store)
    before = export_dataset(store, "jsonl", tmp_path / "before.jsonl", chunk_size=5)
    assert before.manifest["as_of_event"] == cut

    def colleague() -> None:
        """Another connection: relabels samples in later chunks and in the first one,
        undoes a label, labels a sample that had none."""
        with Store.open(store.location) as other:
            other.labels.add(ids[-1], ["c" if y[-1] != "c" else "a"], "bob")
            other.labels.add(ids[0], ["c" if y[0] != "c" else "a"], "bob")
            other.labels.add(ids[20], ["c" if y[20] != "c" else "a"], "bob")
            other.labels.undo("bob")  # ids[20] back to alice's label, by events after the cut
            other.labels.add(fresh[0], ["b"], "bob")
            other.labels.undo("alice")  # alice's newest label (ids[-1]) is undone

    wrote: list[bool] = []

    def progress(done: int, total: int | None) -> None:
        if done and not wrote:  # after the first chunk was read and written
            writer = threading.Thread(target=colleague)
            writer.start()
            writer.join()
            wrote.append(True)

    during = export_dataset(
        store, "jsonl", tmp_path / "during.jsonl", chunk_size=5, progress=progress
    )
    assert wrote
    assert during.manifest["as_of_event"] == cut
    assert _rows(during.path) == _rows(before.path)
    assert during.path.read_bytes() == before.path.read_bytes()
    for key in ("rows", "class_counts", "annotators", "label_set_sha256", "sha256"):
        assert during.manifest[key] == before.manifest[key], key

    after = export_dataset(store, "jsonl", tmp_path / "after.jsonl", chunk_size=5)
    assert after.manifest["as_of_event"] > cut
    changed = _rows(after.path)
    assert changed != _rows(before.path) and changed["new0"] == "b"
