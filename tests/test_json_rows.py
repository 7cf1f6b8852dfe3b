"""Tabular rows serialised column-wise (labeler.data.json_rows) read back exactly."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeler.data.importer import import_file
from labeler.data.json_rows import json_objects


def _expected(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


@settings(max_examples=150, deadline=None)
@given(
    numbers=st.lists(
        st.one_of(st.floats(allow_infinity=False), st.none()), min_size=1, max_size=30
    ),
    texts=st.data(),
    use_arrow=st.booleans(),
)
def test_rows_read_back_exactly(numbers, texts, use_arrow):
    n = len(numbers)
    words = texts.draw(st.lists(st.one_of(st.text(), st.none()), min_size=n, max_size=n))
    strings = pd.Series(words, dtype="str" if use_arrow else object)
    if use_arrow:  # Arrow strings hold valid UTF-8 only; object columns may hold surrogates
        words = [w if w is None or _utf8(w) else None for w in words]
        strings = pd.Series(words, dtype="str")
    frame = pd.DataFrame(
        {"x": pd.Series(numbers, dtype="float64"), 'quote"key\n': strings, "flag": [True] * n}
    )
    rows = json_objects(frame, [True, False, True])
    assert len(rows) == n
    for row, num, word in zip(rows, numbers, words, strict=True):
        got = json.loads(row)
        assert list(got) == ["x", 'quote"key\n', "flag"]  # column order kept
        assert got["x"] == _expected(num)  # shortest round-trip: exact, not 15 digits
        assert got['quote"key\n'] == _expected(word)
        assert got["flag"] is True


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_booleans_and_missing_booleans():
    frame = pd.DataFrame({"b": pd.array([True, None, False], dtype="boolean")})
    assert [json.loads(r) for r in json_objects(frame, [True])] == [
        {"b": True},
        {"b": None},
        {"b": False},
    ]


def test_no_columns_gives_empty_objects():
    assert json_objects(pd.DataFrame(index=range(2)), []) == ["{}", "{}"]


def test_imported_tabular_values_keep_every_digit(make_store, tmp_path):
    store = make_store(modality="tabular")
    path = tmp_path / "t.csv"
    path.write_text(
        'id,a,b,c\nr1,0.30000000000000004,red,1e-300\nr2,,"say ""hi""",-2.5\n',
        encoding="utf-8",
    )
    import_file(store, path)
    first = store.samples.by_external_id("r1")
    second = store.samples.by_external_id("r2")
    assert first is not None and second is not None
    assert first.data == {"a": 0.30000000000000004, "b": "red", "c": 1e-300}
    assert second.data == {"a": None, "b": 'say "hi"', "c": -2.5}
    assert np.float64(first.data["a"]) != 0.3


def test_reimport_into_a_project_with_rows_in_the_old_format_finds_duplicates(make_store, tmp_path):
    """Projects imported before row format 2 hold rows as pandas wrote them (15 significant
    digits, ``1.0``) and hashes over that text; the same file imported again is duplicates."""
    import hashlib

    store = make_store(modality="tabular")
    frame = pd.DataFrame({"id": ["r1", "r2", "r3"], "a": [1.0, 0.1, 2.5], "b": ["x", "y", None]})
    features = frame[["a", "b"]].astype({"b": object})
    old_rows = features.to_json(orient="records", lines=True, double_precision=15).splitlines()
    old_hashes = [hashlib.blake2b(b"d" + r.encode(), digest_size=16).hexdigest() for r in old_rows]
    with store.samples.bulk_import("old.csv", "0" * 64, {"kind": "csv"}) as batch:  # format 1
        batch.add_samples(
            [
                (ext, h, None, None, row, None)
                for ext, h, row in zip(frame["id"], old_hashes, old_rows, strict=True)
            ]
        )
    assert store.samples.has_legacy_rows()
    path = tmp_path / "same.csv"
    frame.assign(label=["pos", "neg", "pos"]).iloc[[2, 0, 1]].to_csv(path, index=False)
    before = store.dump()
    report = import_file(store, path)
    assert (report.added, report.duplicates) == (0, 3)  # no id clash, nothing added twice
    assert store.samples.count() == 3
    # a new row still goes in, in the new format
    path.write_text("id,a,b\nr4,0.30000000000000004,z\n", encoding="utf-8")
    assert import_file(store, path).added == 1
    assert store.samples.by_external_id("r4").data == {"a": 0.30000000000000004, "b": "z"}
    assert before != store.dump()


def test_lone_surrogate_in_a_feature_value_is_a_row_error(make_store, tmp_path):
    from labeler.errors import DataImportError

    store = make_store(modality="tabular")
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "v": "ok"}\n{"id": "b", "v": "\\ud800x"}\n', encoding="utf-8")
    before = store.dump()
    with pytest.raises(DataImportError) as info:
        import_file(store, path)
    assert (info.value.row, info.value.column) == (2, "v")
    assert "lone surrogate" in str(info.value)
    assert store.dump() == before
