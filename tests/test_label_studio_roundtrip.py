"""Round trips through a real Label Studio 1.23 (fixtures in tests/fixtures/label_studio/,
see its README): our exports, corrections made there by a second annotator, and Label
Studio's JSON, JSON_MIN and CSV exports read back as each annotator's label events."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from labeler.data.importer import import_file
from labeler.data.label_studio import read_csv_export, read_tasks
from labeler.errors import DataImportError
from labeler.export import export_dataset
from labeler.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "label_studio"
SPECS = {
    "text": (("pos", "neg"), {"t1": "pos", "t2": "neg", "t3": "neg"}, "t3", "t4"),
    "tabular": (("small", "large"), {"r1": "small", "r2": "large", "r3": "small"}, "r3", "r4"),
    "image": (
        ("dark", "light"),
        {"img/a.png": "dark", "img/b.png": "light", "img/c.png": "dark"},
        "img/c.png",
        "img/d.png",
    ),
}
CORRECTED = {"text": "pos", "tabular": "large", "image": "light"}  # bob's correction
ADMIN = {"text": "neg", "tabular": "large", "image": "light"}  # the sample alice left
TEXT_ROWS = "id,text\nt1,a lovely calm morning\nt2,the train was late again\nt3,not bad at all\nt4,an ordinary day\n"
TABULAR_ROWS = (
    "id,width,height,colour\nr1,1.5,2.0,red\nr2,9.0,8.5,blue\nr3,2.5,7.0,red\nr4,8.0,1.0,green\n"
)


def original(make_store, tmp_path: Path, kind: str) -> Store:
    """The project the fixtures were exported from (same samples, alice's labels)."""
    labels, alice, _, _ = SPECS[kind]
    settings = {"label_studio": {"document_root": str(FIXTURES)}} if kind == "image" else None
    store = make_store(modality=kind, labels=labels, settings=settings)
    source = tmp_path / f"{kind}.csv"
    if kind == "image":
        rows = "".join(
            f"img/{n},{FIXTURES / 'img' / n}\n" for n in ("a.png", "b.png", "c.png", "d.png")
        )
        source.write_text("id,image\n" + rows, encoding="utf-8")
    else:
        source.write_text(TEXT_ROWS if kind == "text" else TABULAR_ROWS, encoding="utf-8")
    import_file(store, source)
    ids = by_external_id(store)
    for ext, label in alice.items():
        store.labels.add(ids[ext], [label], "alice")
    return store


def by_external_id(store: Store) -> dict[str, int]:
    return {s.external_id: s.id for s in store.samples.get_many(store.samples.ids())}


def state(store: Store, ext: str) -> tuple[tuple[str, ...] | None, str | None]:
    s = store.labels.state(by_external_id(store)[ext])
    return s.labels, s.annotator


def test_the_reader_reads_every_annotation_with_its_annotator_and_time():
    frame = read_tasks(FIXTURES / "text-ls.json")
    assert list(frame["id"]) == ["t1", "t2", "t3", "t4"]
    anns = dict(zip(frame["id"], frame["__label_studio_annotations__"], strict=True))
    # ours comes back as alice's, at the time she gave it, though Label Studio made it admin's
    assert [(a.annotator, a.labels) for a in anns["t3"]] == [
        ("alice", ("neg",)),
        ("bob@example.com", ("pos",)),
    ]
    assert anns["t3"][0].time == datetime.fromisoformat(
        json.loads((FIXTURES / "text-ours.json").read_text())[2]["meta"]["labeler"]["time"][:-1]
    )
    assert anns["t3"][1].time_spent_ms == 3500
    assert [(a.annotator, a.labels) for a in anns["t4"]] == [("admin@example.com", ("neg",))]
    # the newest annotation is the row's label (ground truth no longer wins)
    assert list(frame["label"]) == ["pos", "neg", "pos", "neg"]


def test_users_given_as_ids_and_the_minimal_formats():
    ids = read_tasks(FIXTURES / "text-ls-ids.json")
    anns = dict(zip(ids["id"], ids["__label_studio_annotations__"], strict=True))
    assert [a.annotator for a in anns["t3"]] == ["alice", "label-studio-user-2"]
    mini = read_tasks(FIXTURES / "text-ls-min.json")  # JSON_MIN: the task id replaces data.id
    assert list(mini["text"]) == list(ids["text"])
    assert len(mini) == 4 and "t3" not in set(mini["id"])
    csv = read_csv_export(FIXTURES / "text-ls.csv")  # CSV keeps data.id
    assert list(csv["id"]) == ["t1", "t2", "t3", "t4"]
    anns = dict(zip(csv["id"], csv["__label_studio_annotations__"], strict=True))
    assert sorted(a.annotator for a in anns["t3"]) == ["admin@example.com", "bob@example.com"]
    assert list(csv["label"]) == ["pos", "neg", "pos", "neg"]


@pytest.mark.parametrize("kind", list(SPECS))
def test_corrections_made_in_label_studio_come_back_as_that_annotators_events(
    make_store, tmp_path, kind
):
    store = original(make_store, tmp_path, kind)
    _, alice, corrected, left = SPECS[kind]
    before = len(store.labels.events())
    report = import_file(store, FIXTURES / f"{kind}-ls.json")
    assert report.added == 0 and report.duplicates == 4
    assert report.labels == 2  # bob's correction and admin's label; alice's come back as hers
    assert state(store, corrected) == ((CORRECTED[kind],), "bob@example.com")
    assert state(store, left) == ((ADMIN[kind],), "admin@example.com")
    for ext, label in alice.items():
        if ext != corrected:
            assert state(store, ext) == ((label,), "alice")
    events = store.labels.events(sample_id=by_external_id(store)[corrected])
    assert [(e.annotator, e.labels) for e in events] == [
        ("alice", (alice[corrected],)),
        ("bob@example.com", (CORRECTED[kind],)),
    ]
    assert events[1].time_spent_ms == 3500 and events[1].created_at.year == 2026
    assert store.summary()["per_annotator"] == {
        "admin@example.com": 1,
        "alice": 3,
        "bob@example.com": 1,
    }
    # the same file again adds nothing
    again = import_file(store, FIXTURES / f"{kind}-ls.json")
    assert again.labels == 0 and len(store.labels.events()) == before + 2


@pytest.mark.parametrize("fmt", ["ls-min.json", "ls.csv"])
def test_json_min_and_csv_round_trip_the_labels(make_store, tmp_path, fmt):
    store = original(make_store, tmp_path, "text")
    import_file(store, FIXTURES / f"text-{fmt}")
    assert state(store, "t3") == (("pos",), "bob@example.com")
    assert state(store, "t4") == (("neg",), "admin@example.com")
    current = {e: state(store, e)[0] for e in ("t1", "t2")}
    assert current == {"t1": ("pos",), "t2": ("neg",)}
    import_file(store, FIXTURES / f"text-{fmt}")  # idempotent
    assert len(store.labels.events(sample_id=by_external_id(store)["t3"])) == 3


@pytest.mark.parametrize("kind", list(SPECS))
def test_a_fresh_project_gets_every_annotation_with_its_time(make_store, kind):
    labels, alice, corrected, left = SPECS[kind]
    settings = {"label_studio": {"document_root": str(FIXTURES)}} if kind == "image" else None
    store = make_store(modality=kind, labels=labels, settings=settings)
    report = import_file(store, FIXTURES / f"{kind}-ls.json")
    assert report.added == 4 and report.labels == 5
    events = store.labels.events(sample_id=by_external_id(store)[corrected])
    assert [e.annotator for e in events] == ["alice", "bob@example.com"]
    assert events[0].created_at < events[1].created_at
    assert state(store, corrected) == ((CORRECTED[kind],), "bob@example.com")
    assert store.labels.state(by_external_id(store)[corrected]).disagreement
    if kind == "tabular":
        sample = store.samples.get(by_external_id(store)["r2"])
        assert sample.data == {"width": 9.0, "height": 8.5, "colour": "blue"}
    if kind == "image":
        sample = store.samples.get(by_external_id(store)[left])
        assert Path(sample.file_ref) == FIXTURES / "img" / "d.png"


@pytest.mark.parametrize("kind", list(SPECS))
def test_our_export_matches_the_fixture_and_declares_its_labeling_config(
    make_store, tmp_path, kind
):
    store = original(make_store, tmp_path, kind)
    out = tmp_path / "ours.json"
    result = export_dataset(store, "label-studio", out)
    tasks = json.loads(out.read_text(encoding="utf-8"))
    fixture = json.loads((FIXTURES / f"{kind}-ours.json").read_text(encoding="utf-8"))
    assert [t["data"] for t in tasks] == [t["data"] for t in fixture]
    assert [t["meta"]["annotator"] for t in tasks] == ["alice"] * 3
    config = result.manifest["label_studio"]["label_config"]
    tag = {
        "text": '<Text name="text" value="$text"/>',
        "tabular": '<Table name="data" value="$item"/>',
    }
    assert tag.get(kind, '<Image name="image" value="$image"/>') in config
    fresh = make_store(
        modality=kind,
        labels=SPECS[kind][0],
        settings={"label_studio": {"document_root": str(FIXTURES)}} if kind == "image" else None,
    )
    import_file(fresh, out)
    assert [state(fresh, e) for e in SPECS[kind][1]] == [
        ((label,), "alice") for label in SPECS[kind][1].values()
    ]


def test_images_outside_the_document_root_are_refused(make_store, tmp_path):
    store = original(make_store, tmp_path, "image")
    store.update_settings(label_studio={"document_root": str(tmp_path / "elsewhere")})
    with pytest.raises(Exception, match="not under the Label Studio document root"):
        export_dataset(store, "label-studio", tmp_path / "out.json")


def test_an_unknown_label_in_any_annotation_names_the_row_and_leaves_the_project(
    make_store, tmp_path
):
    store = original(make_store, tmp_path, "text")
    tasks = json.loads((FIXTURES / "text-ls.json").read_text(encoding="utf-8"))
    tasks[2]["annotations"][0]["result"][0]["value"]["choices"] = ["meh"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tasks), encoding="utf-8")
    before = store.dump()
    with pytest.raises(DataImportError, match="unknown label 'meh'") as info:
        import_file(store, bad)
    message = str(info.value)
    assert str(bad) in message and "row 3" in message and "annotations" in message
    assert store.dump() == before


def test_an_image_fixture_is_what_label_studio_served(tmp_path):
    """The local-files URL maps back under the document root given to the reader."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "img", root / "img")
    frame = read_tasks(FIXTURES / "image-ls-min.json", document_root=root)
    assert sorted(Path(p).name for p in frame["image"]) == ["a.png", "b.png", "c.png", "d.png"]
    assert all(Path(p).is_file() for p in frame["image"])


def test_the_cli_export_keeps_the_document_root_for_the_import(tmp_path, capsys):
    from labeler.cli import main

    store = Store.create(tmp_path / "p", modality="image", labels=["dark", "light"])
    source = tmp_path / "images.csv"
    source.write_text(f"id,image\na,{FIXTURES / 'img' / 'a.png'}\n", encoding="utf-8")
    with store:
        import_file(store, source)
        store.labels.add(store.samples.ids()[0], ["dark"], "alice")
    out = tmp_path / "tasks.json"
    code = main(
        ["export", str(tmp_path / "p"), "--format", "label-studio", "--out", str(out),
         "--document-root", str(FIXTURES)]
    )  # fmt: skip
    assert code == 0
    task = json.loads(out.read_text(encoding="utf-8"))[0]
    assert task["data"]["image"] == "/data/local-files/?d=img/a.png"
    with Store.open(tmp_path / "p") as store:
        assert store.info.settings["label_studio"]["document_root"] == str(FIXTURES)
        frame = read_tasks(out, store.info.settings["label_studio"]["document_root"])
    assert Path(frame["image"][0]) == FIXTURES / "img" / "a.png"
