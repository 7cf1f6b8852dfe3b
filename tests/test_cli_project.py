"""The command line as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli, run_main


def _assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in lines[0]


def test_init_import_info_round_trip(tmp_path):
    proj = tmp_path / "reviews"
    proc = run_cli("init", str(proj), "--modality", "text", "--labels", "pos,neg")
    assert proc.returncode == 0, proc.stderr
    data = tmp_path / "data.csv"
    data.write_text("id,text,label\n1,good,pos\n2,bad,neg\n3,meh,\n3b,meh,\n", encoding="utf-8")
    proc = run_cli("import", str(proj), str(data))
    assert proc.returncode == 0, proc.stderr
    assert "imported 3 samples" in proc.stdout and "1 duplicates skipped" in proc.stdout
    proc = run_cli("info", str(proj), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["samples"] == 3 and info["labeled"] == 2
    assert info["per_class"] == {"pos": 1, "neg": 1}
    assert info["per_annotator"] == {"import": 2}
    assert info["import_batches"][0]["duplicates"] == 1
    human = run_cli("info", str(proj))
    assert "samples   3  labeled 2" in human.stdout


def test_init_records_the_text_features_and_train_uses_them(tmp_path):
    from labeler.learning.featureset import DEFAULT_TEXT_FEATURES
    from labeler.store import Store

    chosen = tmp_path / "chosen"
    args = ("--modality", "text", "--labels", "pos,neg")
    proc = run_cli("init", str(chosen), *args, "--text-features", "embedding")
    assert proc.returncode == 0, proc.stderr
    default = tmp_path / "default"
    assert run_main("init", str(default), *args).returncode == 0  # in this process: faster
    data = tmp_path / "data.csv"
    rows = [
        f"{i},{'a lovely sunny day' if i % 2 else 'a dreadful rainy night'} {i}," for i in range(20)
    ]
    labeled = [r + ("pos" if i % 2 else "neg") if i < 8 else r for i, r in enumerate(rows)]
    data.write_text("id,text,label\n" + "\n".join(labeled) + "\n", encoding="utf-8")
    for proj, expected, run in (
        (chosen, "embedding", run_cli),
        (default, DEFAULT_TEXT_FEATURES, run_main),
    ):
        with Store.open(proj) as store:
            assert store.info.settings["learning"]["features"]["text_features"] == expected
        assert run_main("import", str(proj), str(data)).returncode == 0
        proc = run("train", str(proj), "--json")
        assert proc.returncode == 0, proc.stderr
        with Store.open(proj) as store:
            run = store.models.latest_ok()
            assert run is not None and run.params["features"]["text_features"] == expected


def test_import_bad_row_is_one_line_and_changes_nothing(tmp_path):
    proj = tmp_path / "p"
    assert run_cli("init", str(proj), "--modality", "text", "--labels", "pos,neg").returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,pos\nodd,maybe\n", encoding="utf-8")
    before = (proj / ".labeler" / "project.db").read_bytes()
    proc = run_cli("import", str(proj), str(bad))
    _assert_one_line_error(proc, str(bad), "row 2", "column 'label'", "unknown label 'maybe'")
    info = json.loads(run_main("info", str(proj), "--json").stdout)
    assert info["samples"] == 0 and info["import_batches"] == []
    assert before  # the database file existed before and still opens (checked by info above)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["info", "{tmp}/missing"], "no such project folder"),
        (["init", "{tmp}/x", "--modality", "text", "--labels", "only"], "at least two"),
        (["init", "{tmp}/x", "--modality", "video", "--labels", "a,b"], "invalid choice"),
        (
            ["init", "{tmp}/x", "--modality", "text", "--labels", "a,b", "--text-features", "bert"],
            "invalid choice: 'bert'",
        ),
        (
            [
                "init",
                "{tmp}/x",
                "--modality",
                "tabular",
                "--labels",
                "a,b",
                "--text-features",
                "tfidf",
            ],
            "text features apply to text projects only",
        ),
        (["import", "{tmp}/missing", "{tmp}/f.csv"], "no such project folder"),
        (["demo", "--kind", "poems"], "invalid choice"),
    ],
)
def test_bad_arguments(tmp_path, args, fragment):
    proc = run_cli(*[a.format(tmp=tmp_path) for a in args])
    _assert_one_line_error(proc, fragment)


def test_import_into_wrong_modality_mapping(tmp_path):
    proj = tmp_path / "p"
    run_cli("init", str(proj), "--modality", "text", "--labels", "a,b")
    f = tmp_path / "f.csv"
    f.write_text("body\nhello\n")
    proc = run_cli("import", str(proj), str(f))
    _assert_one_line_error(proc, "no text column", "--text-column")
    assert run_cli("import", str(proj), str(f), "--text-column", "body").returncode == 0


@pytest.mark.parametrize(
    "kind, samples, modality",
    [("digits", 1797, "image"), ("tabular", 178, "tabular"), ("text", None, "text")],
)
def test_demo_creates_project(tmp_path, kind, samples, modality):
    proc = run_cli("demo", "--kind", kind, "--dir", str(tmp_path / kind), "--no-gui")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(run_cli("info", str(tmp_path / kind), "--json").stdout)
    assert info["modality"] == modality and info["labeled"] == 0
    if samples:
        assert info["samples"] == samples
    else:
        assert info["samples"] > 500
    assert (tmp_path / kind / "truth.csv").exists()
    if kind == "text":  # the id shown to the annotator does not name the library (the answer)
        import pandas as pd

        truth = pd.read_csv(tmp_path / kind / "truth.csv")
        assert truth["id"].str.fullmatch(r"doc-\d{5}").all()
        assert not any(lib in i for i in truth["id"] for lib in truth["label"].unique())
        assert truth["source"].str.contains(".", regex=False).all()  # where it came from
    # running the demo again reopens the same project
    again = run_cli("demo", "--kind", kind, "--dir", str(tmp_path / kind), "--no-gui")
    assert again.returncode == 0
    assert (
        json.loads(run_cli("info", str(tmp_path / kind), "--json").stdout)["samples"]
        == info["samples"]
    )


def test_team_project_on_postgres(tmp_path, pg_server_url):
    proj = tmp_path / "team"
    proc = run_cli(
        "init", str(proj), "--modality", "text", "--labels", "a,b", "--database", pg_server_url
    )
    assert proc.returncode == 0, proc.stderr
    assert (proj / "project.json").exists() and not (proj / ".labeler" / "project.db").exists()
    f = tmp_path / "f.csv"
    f.write_text("text,label\nhello,a\nworld,\n")
    assert run_cli("import", str(proj), str(f)).returncode == 0
    info = json.loads(run_cli("info", f"{pg_server_url}#team", "--json").stdout)
    assert info["samples"] == 2 and info["labeled"] == 1
    assert "postgresql" in info["database"]


def test_unknown_database_is_one_line(tmp_path):
    proc = run_cli(
        "init",
        str(tmp_path / "x"),
        "--modality",
        "text",
        "--labels",
        "a,b",
        "--database",
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
    )
    _assert_one_line_error(proc, "cannot create project 'x'", "database server 127.0.0.1:1")
    assert not (tmp_path / "x").exists()
