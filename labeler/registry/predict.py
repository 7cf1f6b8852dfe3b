"""``labeler predict``: score a file of raw rows with a model pipeline, streamed in chunks.

The file is read as ``labeler import`` reads it (:func:`labeler.data.readers.read_chunks`:
CSV, TSV, Parquet, JSONL, Excel, a folder of images) and its rows are checked with the
import's one-line errors naming the file, row and column. Each row of the output holds the
row's id (the id column, else its 1-based row number), the predicted label(s), one
probability per class, the model's name and version and the SHA-256 of its artifact.

The output is written under a temporary name and renamed into place when complete, so a
failed or cancelled run (Ctrl+C) leaves no partial file.

Report hooks (:data:`ReportHook`) add entries to the JSON report, computed on a sample of the
raw rows scored (the drift line: :mod:`labeler.registry.predict_drift`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labeler.errors import DataImportError
from labeler.learning.pipeline import IMAGE_COLUMN, TEXT_COLUMN, VECTOR_COLUMN, predict_frame
from labeler.progress import CancelToken, ProgressFn, no_progress
from labeler.registry.formats import FORMATS
from labeler.registry.model_ref import LoadedModel

CHUNK_ROWS = 50_000
SAMPLE_ROWS = 2_000  # raw rows kept for the report hooks
TEXT_NAMES = ("text", "content", "sentence", "document")
IMAGE_NAMES = ("image", "image_path", "path", "file", "filename")
LABEL_SEPARATOR = ";"  # as CSV exports join labels

# A report hook gets the model and a sample of the raw rows scored (the pipeline's input, at
# most SAMPLE_ROWS) and returns entries for the JSON report, e.g. {"drift": {...}}.
ReportHook = Callable[[LoadedModel, pd.DataFrame], dict[str, Any]]


@dataclass
class PredictReport:
    rows: int
    out: Path
    format: str
    model: dict[str, Any]
    columns: list[str]
    seconds: float
    class_counts: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "out": str(self.out),
            "format": self.format,
            "model": self.model,
            "columns": self.columns,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows / self.seconds, 1) if self.seconds else None,
            "class_counts": self.class_counts,
            **self.extra,
        }


def output_format(out: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise DataImportError(f"unknown output format {fmt!r}; use {', '.join(FORMATS)}")
        return fmt
    suffix = out.suffix.lower().lstrip(".")
    return {"pq": "parquet", "ndjson": "jsonl"}.get(suffix, suffix if suffix in FORMATS else "csv")


# -- reading raw rows ------------------------------------------------------------------------


@dataclass
class _Columns:
    """Which file columns feed the model: ``inputs`` maps model input -> file column."""

    inputs: dict[str, str]
    id_column: str | None
    numeric: set[str]  # model inputs read as numbers


def _pick(columns: list[str], names: Sequence[str]) -> str | None:
    return next((n for n in names if n in columns), None)


def map_columns(
    model: LoadedModel, columns: list[str], source: str, id_column: str | None
) -> _Columns:
    """Match the file's columns to the model's raw inputs, as import does; a missing one is
    named."""
    have = ", ".join(map(str, columns))
    if id_column is not None and id_column not in columns:
        raise DataImportError(
            f"missing column (the file has: {have})", file=source, column=id_column
        )
    if id_column is None:
        id_column = "id" if "id" in columns else None
    info = model.info
    kind = info["feature_kind"]
    if kind == "text":
        col = _pick(columns, TEXT_NAMES)
        if col is None:
            raise DataImportError(
                f"no text column: the model reads one of {', '.join(TEXT_NAMES)} "
                f"(the file has: {have})",
                file=source,
            )
        return _Columns({TEXT_COLUMN: col}, id_column, set())
    if kind == "image":
        col = _pick(columns, IMAGE_NAMES)
        if col is None:
            raise DataImportError(f"no image column (the file has: {have})", file=source)
        return _Columns({IMAGE_COLUMN: col}, id_column, set())
    if kind == "vectors":
        if VECTOR_COLUMN not in columns:
            raise DataImportError(
                f"missing embedding column (the file has: {have})",
                file=source,
                column=VECTOR_COLUMN,
            )
        return _Columns({VECTOR_COLUMN: VECTOR_COLUMN}, id_column, set())
    for name in info["inputs"]:
        if name not in columns:
            raise DataImportError(
                f"missing feature column (the model needs {', '.join(info['inputs'])}; the "
                f"file has: {have})",
                file=source,
                column=name,
            )
    numeric = {n for n, t in info["inputs"].items() if t == "double"}
    return _Columns({n: n for n in info["inputs"]}, id_column, numeric)


def _check_chunk(
    frame: pd.DataFrame, cols: _Columns, kind: str, source: str, first_row: int, base: Path
) -> pd.DataFrame:
    """The pipeline's input for one chunk, checked with the import's errors."""
    from labeler.data.payloads import _parse_vector, _to_numeric

    out: dict[str, Any] = {}
    for name, col in cols.inputs.items():
        values = frame[col].reset_index(drop=True)
        missing = values.isna().to_numpy()
        if name in cols.numeric:
            conv = _to_numeric(values)
            bad = (conv.isna() & values.notna()).to_numpy()
            if bad.any():
                i = int(np.argmax(bad))
                raise DataImportError(
                    f"{values.iloc[i]!r} is not a number (the column is numeric)",
                    file=source,
                    row=first_row + i,
                    column=col,
                )
            floats = conv.to_numpy(dtype="float64", na_value=np.nan)
            if np.isinf(floats).any():
                i = int(np.argmax(np.isinf(floats)))
                raise DataImportError("infinite value", file=source, row=first_row + i, column=col)
            out[name] = floats
        elif kind == "tabular":
            out[name] = values  # categories: the pipeline reads them as strings
        elif missing.any():
            what = {"text": "text", "image": "image path"}.get(kind, "embedding")
            raise DataImportError(
                f"missing {what}", file=source, row=first_row + int(np.argmax(missing)), column=col
            )
        elif kind == "image":
            paths = []
            for i, v in enumerate(values.tolist()):
                p = Path(str(v)).expanduser()
                p = p if p.is_absolute() else base / p
                if not p.is_file():
                    raise DataImportError(
                        f"cannot read image {str(p)!r} (no such file)",
                        file=source,
                        row=first_row + i,
                        column=col,
                    )
                paths.append(str(p))
            out[name] = paths
        elif kind == "vectors":
            vectors = []
            for i, v in enumerate(values.tolist()):
                vec = _parse_vector(v)
                if vec is None or not np.isfinite(vec).all():
                    raise DataImportError(
                        "embedding is not a list of finite numbers",
                        file=source,
                        row=first_row + i,
                        column=col,
                    )
                vectors.append(vec)
            out[name] = vectors
        else:
            out[name] = values.astype(str)
    return pd.DataFrame(out)


def _ids(frame: pd.DataFrame, cols: _Columns, first_row: int) -> pa.Array:
    if cols.id_column is None:
        return pa.array(np.arange(first_row, first_row + len(frame)).astype(str), pa.string())
    values = pa.array(frame[cols.id_column], from_pandas=True)
    return pc.fill_null(pc.cast(values, pa.string()), "")


# -- writing ---------------------------------------------------------------------------------


class _Writer:
    """Appends result chunks (Arrow tables) to a CSV, JSONL or Parquet file."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self._writer: Any = None
        self._started = False

    def write(self, table: pa.Table) -> None:
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            if self._writer is None:
                # dictionary pages only for the dictionary columns (label, model, hash):
                # trying them on unique ids and probabilities costs ~4x the write time
                coded = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
                self._writer = pq.ParquetWriter(self.path, table.schema, use_dictionary=coded)
            self._writer.write_table(table)
        elif self.fmt == "csv":
            import pyarrow.csv as pcsv

            if self._writer is None:
                options = pcsv.WriteOptions(quoting_style="needed")
                self._writer = pcsv.CSVWriter(self.path, table.schema, write_options=options)
            self._writer.write_table(table)
        else:
            with open(self.path, "a", encoding="utf-8") as fh:
                text = table.to_pandas().to_json(orient="records", lines=True, force_ascii=False)
                fh.write(text if text.endswith("\n") else text + "\n")
        self._started = True

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        elif not self._started:
            self.path.write_bytes(b"")


def _constant(value: Any, n: int, type_: pa.DataType) -> pa.Array:
    """``value`` repeated ``n`` times, dictionary-encoded (one copy of the string)."""
    indices = pa.array(np.zeros(n, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], type_))


def _table(
    ids: pa.Array, labels: list[tuple[str, ...]], proba: np.ndarray, model: LoadedModel, fmt: str
) -> pa.Table:
    info = model.info
    n = len(ids)
    columns: dict[str, Any] = {"id": ids}
    if info["multi_label"]:
        if fmt == "csv":
            columns["labels"] = pa.array([LABEL_SEPARATOR.join(lab) for lab in labels], pa.string())
        else:
            columns["labels"] = pa.array([list(lab) for lab in labels], pa.list_(pa.string()))
    else:
        classes = np.asarray(info["classes"], dtype=object)
        best = proba.argmax(axis=1).astype(np.int32)  # predict_frame's labels, as codes
        columns["label"] = pa.DictionaryArray.from_arrays(
            pa.array(best), pa.array(classes, pa.string())
        )
    for j, name in enumerate(info["classes"]):
        columns[f"proba_{name}"] = pa.array(proba[:, j], pa.float64())
    columns["model"] = _constant(model.name, n, pa.string())
    columns["model_version"] = pa.array(np.full(n, model.version, dtype=np.int64))
    columns["model_sha256"] = _constant(model.sha256, n, pa.string())
    if fmt != "parquet":  # plain values: CSV and JSON have no dictionaries
        columns = {
            k: v.dictionary_decode() if isinstance(v, pa.DictionaryArray) else v
            for k, v in columns.items()
        }
    return pa.table(columns)


def _count(
    counts: dict[str, int], labels: list[tuple[str, ...]], proba: np.ndarray, info: dict
) -> None:
    """Add a chunk's predicted labels to ``counts``."""
    if info["multi_label"]:
        from collections import Counter

        found = Counter(LABEL_SEPARATOR.join(lab) for lab in labels)
    else:
        per_class = np.bincount(proba.argmax(axis=1), minlength=len(info["classes"]))
        found = {c: int(k) for c, k in zip(info["classes"], per_class, strict=True) if k}
    for key, k in found.items():
        counts[key] = counts.get(key, 0) + int(k)


# -- the command's core ----------------------------------------------------------------------


def predict_file(
    model: LoadedModel,
    path: str | Path,
    out: str | Path,
    *,
    fmt: str | None = None,
    id_column: str | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    chunk_rows: int = CHUNK_ROWS,
    hooks: Sequence[ReportHook] = (),
) -> PredictReport:
    """Score every row of ``path`` and write the results to ``out`` (see the module doc)."""
    from labeler.data.importer import count_rows
    from labeler.data.readers import csv_header, file_kind, read_chunks
    from labeler.export.atomic import atomic_path

    started = time.perf_counter()
    path = Path(path).expanduser().resolve()
    out = Path(out).expanduser()
    source = str(path)
    progress = progress or no_progress
    if not path.exists():
        raise DataImportError("no such file or folder", file=source)
    fmt = output_format(out, fmt)
    kind = file_kind(path)
    base = path if kind == "images" else path.parent
    total = count_rows(path) if kind != "images" else None
    cols: _Columns | None = None
    string_columns: set[str] | None = None
    if kind in ("csv", "tsv"):
        header = csv_header(path, "\t" if kind == "tsv" else ",")
        cols = map_columns(model, header, source, id_column)
        string_columns = set(header) - cols.numeric
    feature_kind = model.info["feature_kind"]
    rows = 0
    counts: dict[str, int] = {}
    sample: list[pd.DataFrame] = []
    kept = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, overwrite=True) as tmp:
        writer = _Writer(tmp, fmt)
        try:
            for first_row, frame in read_chunks(path, chunk_rows, string_columns):
                if cancel is not None:
                    cancel.check()
                if cols is None:
                    cols = map_columns(model, [str(c) for c in frame.columns], source, id_column)
                raw = _check_chunk(frame, cols, feature_kind, source, first_row, base)
                labels, proba = predict_frame(model.pipeline, raw)
                writer.write(_table(_ids(frame, cols, first_row), labels, proba, model, fmt))
                _count(counts, labels, proba, model.info)
                if kept < SAMPLE_ROWS:
                    sample.append(raw.head(SAMPLE_ROWS - kept))
                    kept += len(sample[-1])
                rows += len(frame)
                progress(rows, total)
        finally:
            writer.close()
    extra: dict[str, Any] = {}
    if sample:
        head = pd.concat(sample, ignore_index=True)
        for hook in hooks:
            extra.update(hook(model, head))
    return PredictReport(
        rows,
        out,
        fmt,
        model.to_json(),
        _table(
            pa.array([], pa.string()), [], np.zeros((0, len(model.info["classes"]))), model, fmt
        ).column_names,
        time.perf_counter() - started,
        dict(sorted(counts.items())),
        extra,
    )
