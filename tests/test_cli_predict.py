"""``labeler predict`` and the model pipeline across folders and machines, on SQLite and
PostgreSQL: a copied project, a registry folder alone in a fresh process, a second member's
machine, a tampered artifact, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeler.cli import main
from labeler.learning.artifact import load_run_pipeline
from labeler.learning.pipeline import predict_frame, store_frame
from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from labeler.registry import open_registry
from labeler.store import Store
from labeler.store.location import ProjectLocation
from tests.helpers import REPO
from tests.learning_data import add_tabular, blobs


def _trained(make_store):
    X, y = blobs(n=120, n_classes=3, n_features=3, seed=5)
    colour = [("red", "green", "blue")[i % 3] for i in range(120)]
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    ids = add_tabular(
        store, X, [(v,) if i < 60 else None for i, v in enumerate(y)], {"colour": colour}
    )
    run = train_once(store.location, TrainSettings(queue_size=5, cv_folds=3))
    assert run.status == "ok", run.error
    return store, ids, run


def _raw_csv(store, ids, run, path: Path) -> tuple[Path, list[str]]:
    """The project's raw rows as a user's CSV (an id column, a label column to ignore) and the
    labels the project's own pipeline predicts for them."""
    pipeline = load_run_pipeline(store, run)
    frame = store_frame(store, ids, pipeline.labeler_info_)
    expected = [lab[0] for lab in predict_frame(pipeline, frame)[0]]
    frame.insert(0, "id", [f"r{i}" for i in range(len(frame))])
    frame["label"] = "c0"
    frame.to_csv(path, index=False)
    return path, expected


def _copy(folder: Path, target: Path, keep_models: bool = True) -> Path:
    shutil.copytree(folder, target)
    if not keep_models:
        shutil.rmtree(target / "models")
    return target


def test_predict_from_a_copied_project_folder(make_store, backend, tmp_path, capsys) -> None:
    store, ids, run = _trained(make_store)
    csv, expected = _raw_csv(store, ids[60:], run, tmp_path / "new.csv")
    # on PostgreSQL the copy lacks the model files: they come from the database
    copied = _copy(store.location.folder, tmp_path / "copied", keep_models=backend == "sqlite")
    out = tmp_path / "pred.parquet"
    code = main(["predict", str(copied), str(csv), "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["rows"] == 60 and report["format"] == "parquet"
    assert report["model"]["sha256"] == run.artifact_sha256
    assert report["model"]["version"] == run.model_version
    assert report["drift"]["line"].startswith("drift: ")
    table = pd.read_parquet(out)
    assert list(table.columns) == [
        "id",
        "label",
        "proba_c0",
        "proba_c1",
        "proba_c2",
        "model",
        "model_version",
        "model_sha256",
    ]
    assert table["id"].tolist() == [f"r{i}" for i in range(60)]
    assert table["label"].tolist() == expected
    np.testing.assert_allclose(table[["proba_c0", "proba_c1", "proba_c2"]].sum(axis=1), 1.0)
    assert set(table["model_sha256"]) == {run.artifact_sha256}


def test_predict_in_a_fresh_process_holding_only_the_registry_folder(make_store, tmp_path) -> None:
    store, ids, run = _trained(make_store)
    csv, expected = _raw_csv(store, ids[:30], run, tmp_path / "rows.csv")
    registry = tmp_path / "reg"
    assert main(["registry", "push", str(store.location.folder), "--registry", str(registry)]) == 0
    name = store.info.name
    store.close()
    alone = tmp_path / "elsewhere"
    alone.mkdir()
    shutil.copytree(registry, alone / "registry")
    shutil.copyfile(csv, alone / "rows.csv")
    shutil.rmtree(registry)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [
            sys.executable, "-m", "labeler", "predict", f"registry#{name}@champion",
            "rows.csv", "--out", "out.jsonl", "--json",
        ],
        capture_output=True, text=True, cwd=alone, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["model"]["source"] == "registry" and report["model"]["version"] == 1
    assert report["drift"]["level"] == "n/a"
    lines = [json.loads(x) for x in (alone / "out.jsonl").read_text().splitlines()]
    assert [x["label"] for x in lines] == expected
    assert {x["model_sha256"] for x in lines} == {run.artifact_sha256}


@pytest.mark.postgres
def test_a_second_machine_of_a_postgres_project_pushes_and_predicts(
    make_store, backend, tmp_path, capsys
) -> None:
    if backend != "postgres":
        pytest.skip("team mode: the model's bytes live in the PostgreSQL database")
    store, ids, run = _trained(make_store)
    csv, expected = _raw_csv(store, ids[:20], run, tmp_path / "rows.csv")
    other = ProjectLocation(store.location.url, store.location.name, tmp_path / "machine-b")
    assert not (other.folder / "models").exists()
    second = Store.open(other)
    try:
        from labeler.registry.push import push_project_model

        result = push_project_model(second, open_registry(str(tmp_path / "reg")))
        assert result.version.sha256 == run.artifact_sha256
        assert (other.folder / "models" / f"v{run.model_version}.skops").is_file()
    finally:
        second.close()
    out = tmp_path / "b.csv"
    ref = f"{tmp_path / 'reg'}#{store.info.name}:1"
    assert main(["predict", ref, str(csv), "--out", str(out)]) == 0, capsys.readouterr().err
    assert pd.read_csv(out)["label"].tolist() == expected


def test_a_tampered_artifact_is_refused_by_predict_and_push(make_store, tmp_path, capsys) -> None:
    store, ids, run = _trained(make_store)
    csv, _ = _raw_csv(store, ids[:10], run, tmp_path / "rows.csv")
    path = store.artifacts_dir / run.artifact
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    out = tmp_path / "out.csv"
    assert main(["predict", str(store.location.folder), str(csv), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "does not match the recorded" in err
    assert not out.exists()
    code = main(["registry", "push", str(store.location.folder), "--registry", str(tmp_path / "r")])
    assert code == 2 and "does not match the recorded" in capsys.readouterr().err


def test_bad_input_gets_one_line_and_exit_2(make_store, tmp_path, capsys) -> None:
    store, ids, run = _trained(make_store)
    csv, _ = _raw_csv(store, ids[:10], run, tmp_path / "rows.csv")
    folder = str(store.location.folder)
    out = tmp_path / "out.csv"

    def fails(argv: list[str], *needles: str) -> None:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "Traceback" not in err, err
        for needle in needles:
            assert needle in err, err
        assert not out.exists()

    frame = pd.read_csv(csv)
    frame.drop(columns=["f1"]).to_csv(tmp_path / "nof1.csv", index=False)
    fails(["predict", folder, str(tmp_path / "nof1.csv"), "--out", str(out)], "'f1'", "missing")
    frame["f2"] = frame["f2"].astype(object)
    frame.loc[3, "f2"] = "lots"
    frame.to_csv(tmp_path / "word.csv", index=False)
    fails(["predict", folder, str(tmp_path / "word.csv"), "--out", str(out)], "row 4", "'f2'")
    (tmp_path / "rows.bin").write_bytes(b"\x00\x01")
    fails(["predict", folder, str(tmp_path / "rows.bin"), "--out", str(out)], "rows.bin")
    fails(["predict", folder, str(tmp_path / "none.csv"), "--out", str(out)], "no such file")
    fails(["predict", str(tmp_path / "nowhere"), str(csv), "--out", str(out)], "nowhere")
    fails(
        ["predict", folder, str(csv), "--out", str(out), "--id-column", "key"], "'key'", "missing"
    )
