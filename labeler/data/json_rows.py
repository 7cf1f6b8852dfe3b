"""Tabular rows as JSON objects, built column-wise in Arrow (one Python string per row).

The importer stores each sample's tabular fields as one JSON object (``sample.data``).
Serialising a million rows one at a time in Python, or through pandas' ``to_json``, costs
several microseconds a row; here every column is turned into its JSON text in one Arrow
kernel, and the columns are joined element-wise into the row objects.

This is row format 2. Numbers are written in their shortest round-trip form (``0.30000000000000004``, ``1``,
``1e-07``...), missing values and NaN as ``null``, booleans as ``true``/``false`` and strings
exactly as :func:`json.dumps` with ``ensure_ascii=False`` writes them. Keys keep the
column order given.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Characters JSON requires escaped inside a string: the quote, the backslash, U+0000-U+001F.
_NEEDS_ESCAPE = '["\\\\\\x00-\\x1f]'


def _number_texts(values: pd.Series) -> pa.Array:
    """JSON text of a numeric (float64) or boolean column; NaN and missing become null."""
    if pd.api.types.is_bool_dtype(values):
        arr = pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.bool_())
        return pc.fill_null(pc.cast(arr, pa.string()), "null")
    floats = values.to_numpy(dtype="float64", na_value=np.nan)
    arr = pa.array(floats, type=pa.float64())
    text = pc.cast(arr, pa.string())
    return pc.if_else(pc.is_nan(arr), pa.scalar("null"), text)


def _string_texts(values: pd.Series) -> pa.Array:
    """JSON text of a column of strings (missing values become null). The strings must be
    valid Unicode: the importer refuses lone surrogates before this point."""
    arr = pa.array(values, type=pa.string(), from_pandas=True)
    quoted = pc.binary_join_element_wise('"', arr, '"', "")
    special = pc.match_substring_regex(arr, _NEEDS_ESCAPE)
    if pc.any(special).as_py():
        flags = special.to_numpy(zero_copy_only=False)
        texts = quoted.to_pylist()
        for i in np.flatnonzero(flags):
            texts[i] = json.dumps(arr[int(i)].as_py(), ensure_ascii=False)
        quoted = pa.array(texts, type=pa.string())
    return pc.fill_null(quoted, "null")


def json_objects(frame: pd.DataFrame, numeric: Sequence[bool]) -> list[str]:
    """One compact JSON object per row of ``frame``; ``numeric[i]`` says whether column i holds
    numbers (float64 or bool) or strings (``str`` values or missing)."""
    parts: list[pa.Array | str] = []
    for i, (name, is_number) in enumerate(zip(frame.columns, numeric, strict=True)):
        key = json.dumps(str(name), ensure_ascii=False)
        parts.append(("{" if i == 0 else ",") + key + ":")
        values = frame.iloc[:, i]
        parts.append(_number_texts(values) if is_number else _string_texts(values))
    if not parts:
        return ["{}"] * len(frame)
    parts.append("}")
    rows = pc.binary_join_element_wise(*parts, "")
    return rows.to_pylist()


def legacy_json_lines(frame: pd.DataFrame) -> list[str]:
    """Rows in row format 1, which projects imported before 2026-11-28 hold: pandas'
    ``to_json`` with 15 significant digits. Used only to recognise re-imported rows."""
    text = frame.to_json(orient="records", lines=True, double_precision=15, force_ascii=False)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
