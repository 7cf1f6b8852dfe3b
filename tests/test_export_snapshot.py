"""Dataset export: formats, manifest, label policies, immutability, cancel, CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from _review_data import add_samples, labeled_project

from labeler.cli import main
from labeler.errors import Cancelled
from labeler.export import ExportError, export_dataset, verify_snapshot
from labeler.export.label_studio import read_tasks
from labeler.progress import CancelToken
from labeler.store.export_queries import iter_labeled, snapshots

EXT = {"csv": "csv", "parquet": "parquet", "jsonl": "jsonl", "label-studio": "json"}


def read_back(fmt: str, path: Path) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(path, dtype={"id": str})
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "jsonl":
        return pd.read_json(path, lines=True, dtype={"id": str})
    return read_tasks(path)


@pytest.mark.parametrize("fmt", list(EXT))
def test_each_format_holds_every_label_and_the_manifest_describes_it(make_store, tmp_path, fmt):
    store = make_store(labels=("pos", "neg", "mixed"))
    ids, _, y = labeled_project(store, n=25)
    unlabeled = add_samples(store, ["no label here"], prefix="u")
    store.labels.add(ids[0], ["mixed"], "bob")  # bob relabels: latest label wins
    out = tmp_path / f"data.{EXT[fmt]}"

    result = export_dataset(store, fmt, out, chunk_size=7)

    frame = read_back(fmt, out)
    got = dict(zip(frame["id"].astype(str), frame["label"], strict=True))
    want = {f"s{i}": str(y[i]) for i in range(25)}
    want["s0"] = "mixed"
    assert got == want
    assert f"u{0}" not in got and unlabeled
    assert set(frame["text"]) == {f"sample {i} {y[i]}" for i in range(25)}
    m = json.loads(result.manifest_path.read_text())
    assert m == result.manifest
    assert m["rows"] == 25
    assert m["class_counts"] == {
        "pos": int((y == "pos").sum()) - (y[0] == "pos"),
        "neg": int((y == "neg").sum()) - (y[0] == "neg"),
        "mixed": int((y == "mixed").sum()) + (y[0] != "mixed"),
    }
    assert m["annotators"] == {"alice": 24, "bob": 1}
    assert m["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert m["schema_version"] and m["project"] == store.info.name
    assert m["label_policy"] == "latest" and m["format"] == fmt
    assert verify_snapshot(out)["sha256"] == m["sha256"]
    [snap] = snapshots(store)
    assert (snap.version, snap.format, snap.path) == (1, fmt, str(out))
    assert snap.manifest["sha256"] == m["sha256"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_versions_increase_and_an_existing_file_is_never_overwritten(make_store, tmp_path):
    store = make_store()
    labeled_project(store, n=6)
    first = export_dataset(store, "csv", tmp_path / "a.csv")
    before = (tmp_path / "a.csv").read_bytes()
    second = export_dataset(store, "jsonl", tmp_path / "b.jsonl")
    assert (first.version, second.version) == (1, 2)
    with pytest.raises(ExportError, match="already exists"):
        export_dataset(store, "csv", tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_bytes() == before
    assert [s.version for s in snapshots(store)] == [1, 2]


def test_tampered_snapshot_fails_verification(make_store, tmp_path):
    store = make_store()
    labeled_project(store, n=6)
    out = tmp_path / "a.jsonl"
    export_dataset(store, "jsonl", out)
    out.chmod(0o644)
    out.write_text(out.read_text().replace("pos", "neg"))
    with pytest.raises(ExportError, match="does not match"):
        verify_snapshot(out)


def test_label_policies_resolve_disagreements(make_store, tmp_path):
    store = make_store(labels=("a", "b"))
    ids = add_samples(store, [f"t{i}" for i in range(4)])
    # s0: a, a, then b (latest) -> majority a; disputed
    store.labels.add(ids[0], ["a"], "ann1")
    store.labels.add(ids[0], ["a"], "ann2")
    store.labels.add(ids[0], ["b"], "ann3")
    # s1: everyone agrees
    store.labels.add(ids[1], ["b"], "ann1")
    store.labels.add(ids[1], ["b"], "ann2")
    # s2: disputed, then adjudicated to a
    store.labels.add(ids[2], ["a"], "ann1")
    store.labels.add(ids[2], ["b"], "ann2")
    store.labels.adjudicate(ids[2], ["a"], "lead")
    # s3: one annotator
    store.labels.add(ids[3], ["b"], "ann1")

    def labels_for(policy: str) -> dict[str, str]:
        out = tmp_path / f"{policy}.jsonl"
        result = export_dataset(store, "jsonl", out, policy=policy)
        frame = pd.read_json(out, lines=True, dtype={"id": str})
        assert result.manifest["rows"] == len(frame)
        return dict(zip(frame["id"], frame["label"], strict=True))

    assert labels_for("latest") == {"s0": "b", "s1": "b", "s2": "a", "s3": "b"}
    assert labels_for("majority") == {"s0": "a", "s1": "b", "s2": "a", "s3": "b"}
    assert labels_for("adjudicated") == {"s1": "b", "s2": "a", "s3": "b"}
    assert snapshots(store)[-1].manifest["excluded"] == 1


def test_multi_label_and_tabular_projects(make_store, tmp_path):
    store = make_store(modality="tabular", labels=("red", "round", "big"), task_type="multi-label")
    rows = [{"width": 1.5, "colour": "x"}, {"width": 2.0, "colour": "y"}]
    ids = add_samples(store, [None, None], data=rows)
    store.labels.add(ids[0], ["red", "big"], "alice")
    store.labels.add(ids[1], ["round"], "alice")
    for fmt in EXT:
        out = tmp_path / f"m.{EXT[fmt]}"
        result = export_dataset(store, fmt, out)
        frame = read_back(fmt, out)
        labels = list(frame["label"])
        if fmt == "csv":
            labels = [x.split(";") for x in labels]
        assert [list(x) for x in labels] == [["red", "big"], ["round"]], fmt
        assert list(frame["width"]) == [1.5, 2.0], fmt
        assert result.manifest["class_counts"] == {"red": 1, "round": 1, "big": 1}


def test_cancel_leaves_nothing_behind(make_store, tmp_path):
    store = make_store()
    labeled_project(store, n=30)
    token = CancelToken()
    target = tmp_path / "out"
    target.mkdir()
    seen: list[tuple[int, int | None]] = []

    def progress(done: int, total: int | None) -> None:
        seen.append((done, total))
        if done >= 10:
            token.cancel()

    with pytest.raises(Cancelled):
        export_dataset(
            store, "parquet", target / "x.parquet", chunk_size=10, progress=progress, cancel=token
        )
    assert seen[0] == (0, 30) and seen[-1] == (10, 30)
    assert list(target.iterdir()) == []
    assert snapshots(store) == []


def test_rows_are_streamed_in_bounded_chunks(make_store):
    store = make_store()
    labeled_project(store, n=23)
    sizes = [len(chunk) for chunk in iter_labeled(store, chunk_size=5)]
    assert sizes == [5, 5, 5, 5, 3]


def test_empty_project_exports_an_empty_snapshot(make_store, tmp_path):
    store = make_store()
    for fmt in EXT:
        out = tmp_path / f"e.{EXT[fmt]}"
        result = export_dataset(store, fmt, out)
        assert result.manifest["rows"] == 0
        assert len(read_back(fmt, out)) == 0


def test_cli_export_prints_the_manifest_and_errors_are_one_line(make_store, tmp_path, capsys):
    store = make_store()
    labeled_project(store, n=8)
    folder = str(store.location.folder)
    out = tmp_path / "cli.csv"
    assert main(["export", folder, "--format", "csv", "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"] == 8 and doc["path"] == str(out.resolve())
    assert main(["export", folder, "--format", "csv", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already exists" in err
