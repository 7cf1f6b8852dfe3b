"""Import of every supported format, duplicates, and bad input that must leave the project unchanged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from labeler.data.importer import ColumnMapping, import_file
from labeler.errors import Cancelled, DataImportError
from labeler.progress import CancelToken


def _write_images(folder, names_and_labels):
    for name, label in names_and_labels:
        sub = folder / label if label else folder
        sub.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(abs(hash(name)) % 2**32)
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8), mode="L").save(sub / name)


def test_csv_text_with_labels_and_duplicates(make_store, tmp_path):
    store = make_store(modality="text", labels=("pos", "neg"))
    f = tmp_path / "reviews.csv"
    f.write_text(
        'id,text,label\nr1,"Great, really great",pos\nr2,Awful,neg\nr3,So-so,\nr4,Awful,neg\n',
        encoding="utf-8",
    )
    report = import_file(store, f)
    assert (report.rows, report.added, report.duplicates, report.labels) == (4, 3, 1, 2)
    s = store.samples.by_external_id("r1")
    assert s.text == "Great, really great"
    assert store.labels.state(s.id).labels == ("pos",)
    assert store.labels.events(sample_id=s.id)[0].annotator == "import"
    # importing the same file again adds nothing: every row is a duplicate
    again = import_file(store, f)
    assert (again.added, again.duplicates) == (0, 4)
    assert store.summary()["import_batches"][1]["duplicates"] == 4


def test_tsv_and_custom_columns(make_store, tmp_path):
    store = make_store(modality="text", labels=("a", "b"))
    f = tmp_path / "x.tsv"
    f.write_text("key\tbody\tgold\nk1\thello there\ta\nk2\tgeneral kenobi\tb\n", encoding="utf-8")
    report = import_file(
        store, f, ColumnMapping(id_column="key", text_column="body", label_column="gold")
    )
    assert report.added == 2 and report.labels == 2
    assert store.samples.by_external_id("k2").text == "general kenobi"


def test_parquet_tabular_with_embeddings(make_store, tmp_path):
    store = make_store(modality="tabular", labels=("x", "y"))
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "age": [31, None, 45],
            "city": ["Oslo", "Rome", None],
            "emb": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]],
            "label": ["x", None, "y"],
        }
    )
    f = tmp_path / "t.parquet"
    frame.to_parquet(f)
    report = import_file(store, f, ColumnMapping(embedding_column="emb"))
    assert report.added == 3 and report.labels == 2
    s = store.samples.by_external_id("a")
    assert s.data == {"age": 31.0, "city": "Oslo"}
    np.testing.assert_allclose(s.vector, [0.1, 0.2], rtol=1e-6)
    assert store.samples.by_external_id("b").data == {"age": None, "city": "Rome"}


def test_jsonl_multilabel(make_store, tmp_path):
    store = make_store(modality="text", labels=("red", "green", "blue"), task_type="multi-label")
    f = tmp_path / "x.jsonl"
    rows = [
        {"id": 1, "text": "sky", "label": ["blue"]},
        {"id": 2, "text": "grass and sky", "label": "green|blue"},
        {"id": 3, "text": "void", "label": None},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    report = import_file(store, f)
    assert report.added == 3 and report.labels == 2
    assert store.labels.state(store.samples.by_external_id("2").id).labels == ("green", "blue")


def test_excel(make_store, tmp_path):
    store = make_store(modality="text", labels=("a", "b"))
    f = tmp_path / "x.xlsx"
    pd.DataFrame({"text": ["one", "two"], "label": ["a", "b"]}).to_excel(f, index=False)
    assert import_file(store, f).labels == 2


def test_image_folder_with_label_subfolders(make_store, tmp_path):
    store = make_store(modality="image", labels=("cat", "dog"))
    folder = tmp_path / "imgs"
    _write_images(folder, [("a.png", "cat"), ("b.png", "dog"), ("c.png", "dog")])
    report = import_file(store, folder)
    assert report.added == 3 and report.labels == 3
    s = store.samples.by_external_id("dog/b.png")
    assert s.file_ref == str((folder / "dog" / "b.png").resolve())
    assert store.labels.state(s.id).labels == ("dog",)


def test_image_csv_relative_paths(make_store, tmp_path):
    store = make_store(modality="image", labels=("cat", "dog"))
    _write_images(tmp_path / "pics", [("a.png", None), ("b.png", None)])
    f = tmp_path / "list.csv"
    f.write_text("image\npics/a.png\npics/b.png\n")
    assert import_file(store, f).added == 2


def test_progress_is_reported(make_store, tmp_path):
    store = make_store(modality="text")
    f = tmp_path / "x.csv"
    pd.DataFrame({"text": [f"row {i}" for i in range(250)]}).to_csv(f, index=False)
    seen = []
    import_file(store, f, progress=lambda done, total: seen.append((done, total)), chunk_rows=100)
    assert seen[0] == (0, 250) and seen[-1] == (250, 250) and len(seen) == 4


# -- bad input: one error naming file/row/column, project unchanged --------------------


def _csv(tmp_path, text, name="bad.csv"):
    f = tmp_path / name
    f.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return f


BAD_TEXT_FILES = [
    (
        "missing column",
        "id,body\n1,hi\n",
        ColumnMapping(text_column="text"),
        (None, "text", "missing column"),
    ),
    (
        "unknown label",
        "text,label\nhi,pos\nho,maybe\n",
        None,
        (2, "label", "unknown label 'maybe'"),
    ),
    ("empty text", 'text,label\nfine,pos\n"   ",neg\n', None, (2, "text", "empty text")),
    ("missing text", "id,text\n1,ok\n2,\n", None, (2, "text", "missing text")),
    ("undecodable", b"text\nok\n\xff\xfe bad bytes\n", None, (2, None, "UTF-8")),
    (
        "undecodable after a quoted newline",
        b'text\n"two\nlines"\n\nfine\nbad \xff byte\n',
        None,
        (3, None, "UTF-8"),
    ),
    (
        "undecodable after a very long field",
        b"text\n" + b"x" * 200_000 + b"\nok\nbad \xff byte\n",
        None,
        (3, None, "UTF-8"),
    ),
    ("ragged csv", "text,label\nok,pos\na,b,c,d\n", None, (2, None, "malformed CSV")),
    ("duplicate id", "id,text\n1,a\n1,b\n", None, (2, "id", "appears twice")),
    (
        "ragged embedding",
        'text,emb\na,"[1,2]"\nb,"[1,2,3]"\n',
        ColumnMapping(embedding_column="emb"),
        (2, "emb", "has 3 values"),
    ),
    (
        "bad embedding",
        'text,emb\na,"[1,2]"\nb,"[1,x]"\n',
        ColumnMapping(embedding_column="emb"),
        (2, "emb", "not a list of numbers"),
    ),
    ("empty file", "", None, (None, None, "empty")),
]


@pytest.mark.parametrize("case", BAD_TEXT_FILES, ids=[c[0] for c in BAD_TEXT_FILES])
def test_bad_text_file_changes_nothing(make_store, tmp_path, case):
    _, content, mapping, (row, column, message) = case
    store = make_store(modality="text", labels=("pos", "neg"))
    import_file(store, _csv(tmp_path, "text,label\nalready here,pos\n", "good.csv"))
    before = store.dump()
    bad = _csv(tmp_path, content)
    with pytest.raises(DataImportError) as info:
        import_file(store, bad, mapping)
    err = info.value
    assert message in str(err)
    assert err.file == str(bad.resolve())
    assert err.row == row and err.column == column
    assert "\n" not in str(err)
    assert store.dump() == before


def test_bad_values_late_in_a_large_file_roll_back_earlier_chunks(make_store, tmp_path):
    store = make_store(modality="tabular", labels=("a", "b"))
    n = 1200
    frame = pd.DataFrame({"x": np.arange(n, dtype=float).astype(str), "y": ["u"] * n})
    frame.loc[1100, "x"] = "twelve"
    f = tmp_path / "t.csv"
    frame.to_csv(f, index=False)
    before = store.dump()
    with pytest.raises(DataImportError, match=r"row 1101, column 'x': 'twelve' is not a number"):
        import_file(store, f, chunk_rows=500)
    assert store.dump() == before


def test_unreadable_image(make_store, tmp_path):
    store = make_store(modality="image", labels=("cat", "dog"))
    _write_images(tmp_path, [("ok.png", None)])
    (tmp_path / "broken.png").write_bytes(b"definitely not a png")
    f = _csv(tmp_path, "image\nok.png\nbroken.png\nmissing.png\n")
    before = store.dump()
    with pytest.raises(DataImportError, match="row 2, column 'image': unreadable image"):
        import_file(store, f)
    assert store.dump() == before


def test_bad_jsonl_line(make_store, tmp_path):
    store = make_store(modality="text")
    f = _csv(tmp_path, '{"text": "a"}\n{"text": oops}\n', "x.jsonl")
    with pytest.raises(DataImportError, match=r"row 2: invalid JSON"):
        import_file(store, f)


def test_unsupported_and_missing_files(make_store, tmp_path):
    store = make_store(modality="text")
    with pytest.raises(DataImportError, match="unsupported file type '.pdf'"):
        import_file(store, _csv(tmp_path, "x", "a.pdf"))
    with pytest.raises(DataImportError, match="no such file"):
        import_file(store, tmp_path / "nope.csv")


def test_cancel_leaves_project_unchanged(make_store, tmp_path):
    store = make_store(modality="text")
    f = tmp_path / "x.csv"
    pd.DataFrame({"text": [f"row {i}" for i in range(1000)]}).to_csv(f, index=False)
    token = CancelToken()
    before = store.dump()

    def progress(done, total):
        if done >= 200:
            token.cancel()

    with pytest.raises(Cancelled):
        import_file(store, f, progress=progress, cancel=token, chunk_rows=100)
    assert store.dump() == before


@pytest.mark.slow
def test_100k_rows_csv_and_jsonl(make_store, tmp_path):
    store = make_store(modality="tabular", labels=("a", "b"))
    n = 100_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"f{i}" for i in range(5)])
    frame.insert(0, "id", [f"r{i}" for i in range(n)])
    frame["label"] = np.where(rng.random(n) < 0.01, "a", "")
    f = tmp_path / "big.csv"
    frame.to_csv(f, index=False)
    report = import_file(store, f)
    assert report.added == n and report.labels == int((frame.label == "a").sum())
    assert store.samples.count() == n
    j = tmp_path / "big.jsonl"
    frame.assign(id=[f"j{i}" for i in range(n)], f0=frame.f0 + 1000).drop(columns="label").to_json(
        j, orient="records", lines=True
    )
    assert import_file(store, j).added == n
    assert store.samples.count() == 2 * n


# -- inputs found by review: each is named, nothing is written ----------------------------

MORE_BAD = [
    (
        "extra field in first row",
        "id,text\n1,hello,x\n2,bye,y\n",
        (1, None, "3 fields, the header has 2"),
    ),
    ("extra field later", "id,text\n1,hello\n2,bye,y\n", (2, None, "malformed CSV")),
    ("duplicate header", "id,text,text\n1,a,b\n", (None, "text", "twice")),
    ("header only", "id,text\n", (None, None, "no data rows")),
    ("id too long", "id,text\n" + "x" * 301 + ",hello\n", (1, "id", "longer than 300")),
]


@pytest.mark.parametrize("case", MORE_BAD, ids=[c[0] for c in MORE_BAD])
def test_more_bad_csv(make_store, tmp_path, case):
    _, content, (row, column, message) = case
    store = make_store(modality="text", labels=("pos", "neg"))
    before = store.dump()
    with pytest.raises(DataImportError) as info:
        import_file(store, _csv(tmp_path, content))
    assert message in str(info.value)
    assert (info.value.row, info.value.column) == (row, column)
    assert store.dump() == before


def test_csv_with_bom_and_crlf(make_store, tmp_path):
    store = make_store(modality="text", labels=("pos", "neg"))
    f = _csv(tmp_path, '\ufeffid,text,label\r\n1,hello,pos\r\n2,"multi\r\nline",neg\r\n')
    report = import_file(store, f)
    assert report.added == 2 and report.mapping["id_column"] == "id"
    assert store.samples.by_external_id("2").text == "multi\r\nline"


def test_jsonl_keeps_integer_ids_and_labels(make_store, tmp_path):
    store = make_store(modality="text", labels=("1", "2"))
    f = _csv(
        tmp_path,
        '{"id": 7, "text": "a", "label": 1}\n{"id": 8.5, "text": "b"}\n{"id": 9007199254740993, "text": "c", "label": 2}\n',
        "x.jsonl",
    )
    report = import_file(store, f)
    assert report.added == 3 and report.labels == 2
    assert store.samples.by_external_id("7") is not None
    assert store.samples.by_external_id("9007199254740993") is not None


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"text": "a\\ud800b"}', "lone surrogate"),
        ('{"text": ["x", "y"]}', "expected text, got list"),
        ('{"text": true}', "expected text, got bool"),
        ("[" * 100_000 + "]" * 100_000, "invalid JSON"),
    ],
)
def test_bad_jsonl_values(make_store, tmp_path, line, message):
    store = make_store(modality="text")
    f = _csv(tmp_path, '{"text": "fine"}\n' + line + "\n", "x.jsonl")
    before = store.dump()
    with pytest.raises(DataImportError, match=message) as info:
        import_file(store, f)
    assert info.value.row == 2
    assert store.dump() == before


def test_truncated_image_is_refused(make_store, tmp_path):
    store = make_store(modality="image", labels=("cat", "dog"))
    img = tmp_path / "cut.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        img
    )
    img.write_bytes(img.read_bytes()[:400])
    with pytest.raises(DataImportError, match="unreadable image"):
        import_file(store, _csv(tmp_path, "image\ncut.jpg\n"))


def test_duplicate_rows_with_labels_are_reported(make_store, tmp_path):
    store = make_store(modality="text", labels=("pos", "neg"))
    import_file(store, _csv(tmp_path, "text\nhello\n", "a.csv"))
    report = import_file(store, _csv(tmp_path, "text,label\nhello,pos\nnew,neg\n", "b.csv"))
    assert (report.added, report.duplicates, report.duplicate_labels, report.labels) == (1, 1, 1, 1)


@pytest.mark.slow
def test_parser_process_path(make_store, tmp_path):
    """Large files are parsed in a child process: same result, and its errors arrive intact."""
    store = make_store(modality="tabular", labels=("a", "b"))
    n = 3000
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "x": np.arange(n) * 0.5,
            "label": ["a", "b", ""] * (n // 3),
        }
    )
    f = tmp_path / "t.csv"
    frame.to_csv(f, index=False)
    report = import_file(store, f, parse_in_process=True, chunk_rows=1000)
    assert (report.added, report.labels) == (n, 2 * n // 3)
    assert store.samples.by_external_id("r2999").data == {"x": 1499.5}
    frame["x"] = frame["x"].astype(object)
    frame.loc[2500, "x"] = "oops"
    g = tmp_path / "bad.csv"
    frame.assign(id=[f"s{i}" for i in range(n)]).to_csv(g, index=False)
    before = store.dump()
    with pytest.raises(DataImportError, match=r"row 2501, column 'x': 'oops' is not a number"):
        import_file(store, g, parse_in_process=True, chunk_rows=1000)
    assert store.dump() == before


def test_id_used_by_an_earlier_import_is_refused(make_store, tmp_path):
    store = make_store(modality="text", labels=("pos", "neg"))
    import_file(store, _csv(tmp_path, "id,text\na,first\nb,second\n", "one.csv"))
    before = store.dump()
    bad = _csv(tmp_path, "id,text\nc,third\nd,fourth\nb,other content\n", "two.csv")
    with pytest.raises(DataImportError) as info:
        import_file(store, bad, chunk_rows=2)
    err = info.value
    assert "id 'b' is already used by another sample" in str(err)
    assert (err.file, err.row, err.column) == (str(bad.resolve()), 3, "id")
    assert store.dump() == before


def test_id_repeated_in_a_later_chunk_is_refused(make_store, tmp_path):
    store = make_store(modality="text", labels=("pos", "neg"))
    rows = "".join(f"r{i},text {i}\n" for i in range(7)) + "x,new\nr2,changed text\n"
    bad = _csv(tmp_path, "id,text\n" + rows)
    before = store.dump()
    with pytest.raises(DataImportError) as info:
        import_file(store, bad, chunk_rows=4)
    assert "id 'r2' is already used by another sample" in str(info.value)
    assert (info.value.row, info.value.column) == (9, "id")
    assert store.dump() == before


def test_duplicate_content_under_a_used_id_is_only_a_duplicate(make_store, tmp_path):
    store = make_store(modality="text", labels=("pos", "neg"))
    import_file(store, _csv(tmp_path, "id,text\na,first\n", "one.csv"))
    report = import_file(store, _csv(tmp_path, "id,text\na,first\nb,second\n", "two.csv"))
    assert (report.added, report.duplicates) == (1, 1)
