"""Readers: turn a data file into chunks of rows, each chunk a DataFrame of strings/values.

Every reader yields ``(first_row, frame)`` where ``first_row`` is the 1-based data-row number
of the chunk's first row (header excluded), so validation errors can name the row.
Problems with the file itself raise :class:`DataImportError` naming the file and, where
known, the row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from labeler.errors import DataImportError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
TABLE_SUFFIXES = {
    ".csv",
    ".tsv",
    ".tab",
    ".parquet",
    ".pq",
    ".jsonl",
    ".ndjson",
    ".json",
    ".xlsx",
    ".xls",
}

Chunks = Iterator[tuple[int, pd.DataFrame]]

# Cells read as missing in numeric/feature columns of CSV files (text columns: only "").
MISSING_MARKERS = [
    "",
    "#N/A",
    "N/A",
    "NA",
    "<NA>",
    "NULL",
    "null",
    "NaN",
    "nan",
    "-nan",
    "None",
    "n/a",
]


def file_kind(path: Path) -> str:
    """``csv``, ``tsv``, ``parquet``, ``jsonl``, ``json``, ``excel`` or ``images`` (a folder)."""
    if path.is_dir():
        return "images"
    suffix = path.suffix.lower()
    kinds = {
        ".csv": "csv",
        ".tsv": "tsv",
        ".tab": "tsv",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "json",
        ".xlsx": "excel",
        ".xls": "excel",
    }
    if suffix not in kinds:
        raise DataImportError(
            f"unsupported file type {suffix or '(none)'!r}; use CSV, TSV, Parquet, JSONL, "
            "Excel, Label Studio JSON or a folder of images",
            file=str(path),
        )
    return kinds[suffix]


def read_chunks(
    path: Path, chunk_rows: int = 50_000, string_columns: set[str] | None = None
) -> Chunks:
    """Stream a file as chunks; see the module docstring.

    For CSV/TSV, columns in ``string_columns`` are read verbatim as strings (only an empty
    cell is missing); the others get pandas' type inference and its usual missing-value
    markers (NA, nan, null, ...). Without ``string_columns`` every column is a string.
    """
    if not path.exists():
        raise DataImportError("no such file or folder", file=str(path))
    kind = file_kind(path)
    if kind in ("csv", "tsv"):
        return _csv_chunks(path, "\t" if kind == "tsv" else ",", chunk_rows, string_columns)
    if kind == "parquet":
        return _parquet_chunks(path, chunk_rows)
    if kind == "jsonl":
        return _jsonl_chunks(path, chunk_rows)
    if kind == "json":
        return _label_studio_chunks(path)
    if kind == "excel":
        return _excel_chunks(path)
    return _image_folder_chunks(path)


def preview(path: str | Path, n: int = 20) -> pd.DataFrame:
    """The first ``n`` rows of a file (for the new-project wizard)."""
    for _, frame in read_chunks(Path(path), chunk_rows=n):
        return frame.head(n).reset_index(drop=True)
    return pd.DataFrame()


def columns_of(path: str | Path) -> list[str]:
    return list(preview(path, 5).columns)


# -- CSV / TSV ---------------------------------------------------------------------------

_LINE_RE = re.compile(r"line (\d+)")


def _csv_chunks(path: Path, sep: str, chunk_rows: int, string_columns: set[str] | None) -> Chunks:
    if string_columns is None:
        dtype: type | dict[str, type] = str
        na_values: list[str] | dict[str, list[str]] = [""]
    else:
        header = csv_header(path, sep)
        dtype = {c: str for c in header if c in string_columns}
        na_values = {c: ([""] if c in string_columns else MISSING_MARKERS) for c in header}
    try:
        reader = pd.read_csv(
            path,
            sep=sep,
            dtype=dtype,
            keep_default_na=False,
            na_values=na_values,
            chunksize=chunk_rows,
            encoding="utf-8",
            encoding_errors="strict",
            engine="c",
            skip_blank_lines=True,
        )
        first = 1
        for frame in reader:
            yield first, frame
            first += len(frame)
    except UnicodeDecodeError:
        row = _first_undecodable_row(path)
        raise DataImportError("text is not valid UTF-8", file=str(path), row=row) from None
    except pd.errors.EmptyDataError:
        raise DataImportError("the file is empty (no header row)", file=str(path)) from None
    except pd.errors.ParserError as exc:
        m = _LINE_RE.search(str(exc))
        row = int(m.group(1)) - 1 if m else None
        detail = str(exc).strip().splitlines()[-1]
        detail = re.sub(r"^Error tokenizing data\. C error: ", "", detail)
        raise DataImportError(
            f"malformed {('TSV' if sep == chr(9) else 'CSV')} ({detail})", file=str(path), row=row
        ) from None


def csv_header(path: Path, sep: str) -> list[str]:
    try:
        return [
            str(c) for c in pd.read_csv(path, sep=sep, nrows=0, dtype=str, encoding="utf-8").columns
        ]
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return []  # the full read reports the problem with its row


def _first_undecodable_row(path: Path) -> int | None:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return max(lineno - 1, 1)
    return None


# -- Parquet -----------------------------------------------------------------------------


def _parquet_chunks(path: Path, chunk_rows: int) -> Chunks:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        first = 1
        for batch in pf.iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            yield first, frame
            first += len(frame)
    except (pa.ArrowException, OSError) as exc:
        raise DataImportError(f"not a readable Parquet file ({exc})", file=str(path)) from None


# -- JSON Lines --------------------------------------------------------------------------


def _jsonl_chunks(path: Path, chunk_rows: int) -> Chunks:
    rows: list[dict] = []
    first = 1
    row = 0
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            row += 1
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise DataImportError("text is not valid UTF-8", file=str(path), row=row) from None
            except ValueError as exc:
                raise DataImportError(
                    f"invalid JSON ({exc.args[0] if exc.args else exc})", file=str(path), row=row
                ) from None
            if not isinstance(obj, dict):
                raise DataImportError(
                    f"expected a JSON object per line, got {type(obj).__name__}",
                    file=str(path),
                    row=row,
                )
            rows.append(obj)
            if len(rows) >= chunk_rows:
                yield first, pd.DataFrame.from_records(rows)
                first += len(rows)
                rows = []
    if rows:
        yield first, pd.DataFrame.from_records(rows)
    elif row == 0:
        raise DataImportError("the file has no rows", file=str(path))


# -- Label Studio JSON --------------------------------------------------------------------


def _label_studio_chunks(path: Path) -> Chunks:
    try:
        from labeler.export.label_studio import read_tasks
    except ImportError:
        raise DataImportError(
            "JSON import reads Label Studio task files; that reader is not available",
            file=str(path),
        ) from None
    yield 1, read_tasks(path)


# -- Excel -------------------------------------------------------------------------------


def _excel_chunks(path: Path) -> Chunks:
    try:
        frame = pd.read_excel(path, dtype=str)
    except (ValueError, OSError, ImportError) as exc:
        raise DataImportError(f"not a readable Excel file ({exc})", file=str(path)) from None
    yield 1, frame


# -- image folder ------------------------------------------------------------------------


def _image_folder_chunks(path: Path) -> Chunks:
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataImportError(
            f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder", file=str(path)
        )
    records = []
    for p in files:
        rel = p.relative_to(path)
        folder = rel.parts[0] if len(rel.parts) > 1 else None
        records.append({"id": rel.as_posix(), "image": str(p), "folder": folder})
    yield 1, pd.DataFrame.from_records(records)
