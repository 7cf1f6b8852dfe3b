"""Tabular rows serialised column-wise (labeler.data.json_rows) read back exactly."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
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
