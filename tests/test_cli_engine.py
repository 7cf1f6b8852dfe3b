"""``labeler train``, ``labeler queue`` and ``labeler simulate`` as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labeler.cli import main
from labeler.store import Store
from tests.helpers import run_cli, run_main
from tests.learning_data import blobs


def _one_line_error(proc, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def _table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    X, y = blobs(n=n, n_classes=3, n_features=4, seed=seed)
    X = X + np.random.default_rng(seed).normal(scale=2.5, size=X.shape)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(4)])
    frame["label"] = y
    return frame


@pytest.fixture
def project(tmp_path, capsys):
    """A tabular project made with ``labeler init`` and ``labeler import``, run in this process
    (the commands under test run as a user runs them, in their own process; init and import
    in a subprocess are covered by test_cli_project.py)."""
    proj = tmp_path / "proj"
    assert main(["init", str(proj), "--modality", "tabular", "--labels", "c0,c1,c2"]) == 0
    frame = _table(120)
    frame.loc[30:, "label"] = ""
    frame.insert(0, "id", [f"r{i}" for i in range(len(frame))])
    csv = tmp_path / "rows.csv"
    frame.to_csv(csv, index=False)
    status = main([
        "import", str(proj), str(csv), "--id-column", "id",
        "--feature-columns", "f0,f1,f2,f3", "--label-column", "label",
    ])  # fmt: skip
    assert status == 0, capsys.readouterr().err
    capsys.readouterr()
    return proj


def test_train_then_queue_shows_why_each_sample_was_chosen(project) -> None:
    proc = run_cli("train", str(project), "--json", "--queue-size", "25")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    assert run["status"] == "ok" and run["model_version"] == 1 and run["label_count"] == 30
    assert 0.0 <= run["metrics"]["accuracy"] <= 1.0
    assert run["artifact"].endswith("v1.skops")

    proc = run_cli("queue", str(project), "-n", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["rank"] for r in rows] == [0, 1, 2, 3, 4]
    assert {(r["strategy"], r["model_version"]) for r in rows} == {("margin", 1)}
    assert all(isinstance(r["score"], float) and r["predicted"] for r in rows)
    assert rows[0]["score"] <= rows[-1]["score"]  # smallest margin first
    assert all(int(r["external_id"][1:]) >= 30 for r in rows)  # only unlabeled rows

    human = run_cli("queue", str(project), "-n", "3")
    assert human.returncode == 0
    lines = human.stdout.strip().splitlines()
    assert len(lines) == 3 and "margin score" in lines[0] and "model v1" in lines[0]

    again = run_cli("train", str(project), "--strategy", "entropy")
    assert again.returncode == 0, again.stderr
    assert "model v2" in again.stdout and "ranked by entropy" in again.stdout
    assert "queue: 90 samples ranked" in again.stdout  # 90 unlabeled rows, not the 500 asked


def test_train_on_a_project_without_a_model_does_not_claim_one_was_kept(tmp_path) -> None:
    proj = tmp_path / "empty"
    assert run_cli("init", str(proj), "--modality", "text", "--labels", "a,b").returncode == 0
    _one_line_error(run_cli("train", str(proj)), "no samples", "(no model yet)")


def test_train_failure_and_bad_options_are_one_line_errors(tmp_path) -> None:
    proj = tmp_path / "p"
    run_cli("init", str(proj), "--modality", "tabular", "--labels", "a,b")
    csv = tmp_path / "one.csv"
    pd.DataFrame({"f0": [1.0, 2.0, 3.0], "label": ["a", "a", ""]}).to_csv(csv, index=False)
    assert run_cli("import", str(proj), str(csv), "--label-column", "label").returncode == 0
    _one_line_error(run_cli("train", str(proj)), "training failed", "at least two classes")
    # the rest in this process: the same code and exit status, without a child each
    runs_before = run_main("queue", str(proj), "--json").stdout
    with Store.open(proj) as store:
        before = store.dump()
    _one_line_error(run_main("train", str(proj), "--strategy", "smart"), "unknown strategy")
    _one_line_error(run_main("train", str(proj), "--model", "deep-net"), "unknown model")
    _one_line_error(run_main("train", str(proj), "--model", "naive-bayes"), "does not work on")
    with Store.open(proj) as store:
        assert store.dump() == before  # bad options are refused before anything is recorded
    assert run_main("queue", str(proj), "--json").stdout == runs_before
    _one_line_error(run_main("queue", str(proj), "-n", "0"), "-n must be at least 1")
    empty = run_main("queue", str(proj), "--json")  # cold-start queue after the failed run
    assert empty.returncode == 0
    assert [r["strategy"] for r in json.loads(empty.stdout)] == ["cold-start"]


def test_simulate_writes_json_and_plot(tmp_path) -> None:
    csv = tmp_path / "table.csv"
    _table(300).to_csv(csv, index=False)
    out, png = tmp_path / "sim.json", tmp_path / "sim.png"
    proc = run_cli(
        "simulate", str(csv), "--label-column", "label", "--strategy", "margin,entropy",
        "--seeds", "2", "--budget", "80", "--json", str(out), "--plot", str(png),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "simulate: seed 2/2 margin" in proc.stderr  # progress goes to stderr
    assert "full-data macro-f1" in proc.stdout  # macro-F1 unless --metric says otherwise
    doc = json.loads(out.read_text())
    assert doc["metric"] == "macro-f1"
    assert set(doc["strategies"]) == {"random", "margin", "entropy"}
    assert 0.5 < doc["full_score"] <= 1.0
    for entry in doc["strategies"].values():
        curve = entry["curve"]
        assert curve[0][0] == 10 and curve[-1][0] == 80
        assert all(len(point) == 3 and 0 <= point[1] <= 1 and point[2] >= 0 for point in curve)
        assert entry["labels_to_95"] is None or 10 <= entry["labels_to_95"] <= 80
        for pct in (95, 98):
            stays, first = entry[f"labels_to_{pct}"], entry[f"first_reach_{pct}"]
            assert stays is None or (isinstance(stays, int) and first is not None)
            assert stays is None or first <= stays
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_simulate_on_a_text_column(tmp_path) -> None:
    words = {"sport": ["goal", "match", "team", "score"], "food": ["bread", "soup", "salt", "rice"]}
    rng = np.random.default_rng(0)
    rows = []
    for i in range(160):
        label = "sport" if i % 2 else "food"
        rows.append({"text": " ".join(rng.choice(words[label], size=4)) + f" w{i}", "label": label})
    jsonl = tmp_path / "texts.jsonl"
    pd.DataFrame(rows).to_json(jsonl, orient="records", lines=True)
    out = tmp_path / "t.json"
    proc = run_cli(
        "simulate", str(jsonl), "--label-column", "label", "--seeds", "1", "--budget", "40",
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["kind"] == "text" and set(doc["strategies"]) == {"random", "margin"}


def test_simulate_bad_input_is_a_one_line_error(tmp_path) -> None:
    csv = tmp_path / "t.csv"
    _table(60).to_csv(csv, index=False)
    _one_line_error(
        run_cli("simulate", str(csv), "--label-column", "nope"), "no column 'nope'", "t.csv"
    )  # the rest in this process
    _one_line_error(
        run_main("simulate", str(csv), "--label-column", "label", "--strategy", "margin,smart"),
        "unknown strategy 'smart'",
    )
    one = tmp_path / "one.csv"
    pd.DataFrame({"f0": [1, 2, 3], "label": ["x", "x", "x"]}).to_csv(one, index=False)
    _one_line_error(
        run_main("simulate", str(one), "--label-column", "label"), "fewer than two classes"
    )
    _one_line_error(
        run_main("simulate", str(tmp_path / "missing.csv"), "--label-column", "label"),
        "no such file",
    )
    _one_line_error(
        run_main("simulate", str(csv), "--label-column", "label", "--metric", "f1"),
        "unknown metric 'f1'; choose one of accuracy, macro-f1",
    )
    for bad in ("0", "-3"):
        _one_line_error(
            run_main("simulate", str(csv), "--label-column", "label", "--initial", bad),
            "--initial must be at least 1",
        )


@pytest.mark.slow
def test_train_on_dask_from_the_command_line(project) -> None:
    """``--compute``: a bad value and an unreachable scheduler are one-line errors that change
    nothing; ``dask-local:2`` trains and says where it ran."""
    with Store.open(project) as store:
        before = store.dump()
    _one_line_error(run_main("train", str(project), "--compute", "spark://x:1"), "compute")
    with Store.open(project) as store:
        assert store.dump() == before
    _one_line_error(
        run_main("train", str(project), "--compute", "dask://127.0.0.1:9"),
        "training failed",
        "scheduler tcp://127.0.0.1:9",
        "(no model yet",
    )
    proc = run_cli("train", str(project), "--compute", "dask-local:2", "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    assert run["status"] == "ok" and run["params"]["compute"] == "dask-local:2"
    assert "Traceback" not in proc.stderr
