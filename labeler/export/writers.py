"""Streaming record writers: each takes records chunk by chunk and holds none of them after.

``open_writer(fmt, path, columns, multi_label)`` returns an object with ``write(records)``
and ``close()``. Label Studio tasks are written by :mod:`labeler.export.label_studio`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from labeler.export.errors import ExportError

MULTI_LABEL_SEPARATOR = ";"


class RecordWriter(Protocol):
    def write(self, records: Sequence[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


class CsvWriter:
    """CSV with a header. Multi-label labels are joined with ``;``; embeddings are JSON lists."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self._fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
        self._csv = csv.DictWriter(self._fh, fieldnames=columns)
        self._csv.writeheader()

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        out = []
        for rec in records:
            row = dict(rec)
            if isinstance(row.get("label"), list):
                row["label"] = MULTI_LABEL_SEPARATOR.join(row["label"])
            if row.get("embedding") is not None:
                row["embedding"] = json.dumps(row["embedding"])
            out.append(row)
        self._csv.writerows(out)
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class JsonlWriter:
    """One JSON object per line (UTF-8)."""

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed in close()

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        self._fh.write(
            "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
        )
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class ParquetWriter:
    """Parquet, one row group per chunk; the schema is fixed by the first chunk."""

    def __init__(self, path: Path, columns: list[str], multi_label: bool) -> None:
        self._path = path
        self._columns = columns
        self._multi = multi_label
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def _first_schema(self, records: Sequence[dict[str, Any]]) -> pa.Schema:
        inferred = pa.Table.from_pylist(list(records)).schema
        fields = []
        for name in self._columns:
            if name == "label":
                typ = pa.list_(pa.string()) if self._multi else pa.string()
            elif name == "embedding":
                typ = pa.list_(pa.float32())
            elif name in ("id", "text", "image"):
                typ = pa.string()
            else:
                typ = inferred.field(name).type
                if pa.types.is_null(typ):
                    typ = pa.string()
            fields.append(pa.field(name, typ))
        return pa.schema(fields)

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        if self._schema is None:
            self._schema = self._first_schema(records)
            self._writer = pq.ParquetWriter(self._path, self._schema)
        try:
            table = pa.Table.from_pylist(list(records), schema=self._schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ExportError(f"values do not fit the Parquet columns ({exc})") from None
        assert self._writer is not None
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is None:  # no rows: still a valid (empty) file with the columns
            fields = [
                pa.field(
                    c,
                    pa.list_(pa.string())
                    if c == "label" and self._multi
                    else pa.list_(pa.float32())
                    if c == "embedding"
                    else pa.string(),
                )
                for c in self._columns
            ]
            self._writer = pq.ParquetWriter(self._path, pa.schema(fields))
        self._writer.close()
