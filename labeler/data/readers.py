"""Readers: turn a data file into chunks of rows, each chunk a DataFrame of strings/values.

Every reader yields ``(first_row, frame)`` where ``first_row`` is the 1-based data-row number
of the chunk's first row (header excluded), so validation errors can name the row.
Problems with the file itself raise :class:`DataImportError` naming the file and, where
known, the row.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from labeler.data.label_studio import (
    ANNOTATIONS,
    is_label_studio_csv,
    read_csv_export,
    read_tasks,
)
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
    """``csv``, ``tsv``, ``parquet``, ``jsonl``, ``json`` (Label Studio JSON or JSON_MIN),
    ``label-studio-csv`` (a Label Studio CSV export), ``excel`` or ``images`` (a folder)."""
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
    if kinds[suffix] == "csv" and is_label_studio_csv(path):
        return "label-studio-csv"
    return kinds[suffix]


def read_chunks(
    path: Path,
    chunk_rows: int = 50_000,
    string_columns: set[str] | None = None,
    document_root: str = "/",
) -> Chunks:
    """Stream a file as chunks; see the module docstring.

    For CSV/TSV, columns in ``string_columns`` are read verbatim as strings (only an empty
    cell is missing); the others get pandas' type inference and its usual missing-value
    markers (NA, nan, null, ...). Without ``string_columns`` every column is a string.
    ``document_root``: where Label Studio local-files URLs point (Label Studio exports).
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
        return _label_studio_chunks(path, document_root)
    if kind == "label-studio-csv":
        return _label_studio_csv_chunks(path, document_root)
    if kind == "excel":
        return _excel_chunks(path)
    return _image_folder_chunks(path)


def preview(path: str | Path, n: int = 20) -> pd.DataFrame:
    """The first ``n`` rows of a file (for the new-project wizard)."""
    for _, frame in read_chunks(Path(path), chunk_rows=n):
        frame = frame.drop(columns=[ANNOTATIONS], errors="ignore")
        return frame.head(n).reset_index(drop=True)
    return pd.DataFrame()


def columns_of(path: str | Path) -> list[str]:
    return list(preview(path, 5).columns)


# -- CSV / TSV ---------------------------------------------------------------------------

_LINE_RE = re.compile(r"line (\d+)")


def _csv_chunks(path: Path, sep: str, chunk_rows: int, string_columns: set[str] | None) -> Chunks:
    kind = "TSV" if sep == "\t" else "CSV"
    header = raw_csv_header(path, sep)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataImportError("the header names this column twice", file=str(path), column=name)
        seen.add(name)
    if string_columns is None:
        dtype: type | dict[str, type] = str
        na_values: list[str] | dict[str, list[str]] = [""]
    else:
        dtype = {c: str for c in header if c in string_columns}
        na_values = {c: ([""] if c in string_columns else MISSING_MARKERS) for c in header}
    # pandas reads a first data row with more fields than the header as an index column
    # (shifting every value); later such rows raise its ParserError. Check the first here.
    width = _first_record_width(path, sep)
    if header and width > len(header):
        raise DataImportError(
            f"malformed {kind}: {width} fields, the header has {len(header)}", file=str(path), row=1
        )
    try:
        reader = pd.read_csv(
            path,
            sep=sep,
            dtype=dtype,
            keep_default_na=False,
            na_values=na_values,
            chunksize=chunk_rows,
            encoding="utf-8-sig",
            encoding_errors="strict",
            engine="c",
            skip_blank_lines=True,
            index_col=False,
        )
        first = 1
        while True:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                try:
                    frame = reader.get_chunk()
                except StopIteration:
                    break
            if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
                # pandas dropped fields of a row longer than the header: refuse, never lose data
                raise DataImportError(
                    f"malformed {kind}: this row or one of the next {chunk_rows - 1} has more "
                    "fields than the header",
                    file=str(path),
                    row=first,
                )
            yield first, frame
            first += len(frame)
    except UnicodeDecodeError:
        row = _first_undecodable_row(path, sep)
        raise DataImportError("text is not valid UTF-8", file=str(path), row=row) from None
    except pd.errors.EmptyDataError:
        raise DataImportError("the file is empty (no header row)", file=str(path)) from None
    except pd.errors.ParserError as exc:
        m = _LINE_RE.search(str(exc))
        row = int(m.group(1)) - 1 if m else None
        detail = str(exc).strip().splitlines()[-1]
        detail = re.sub(r"^Error tokenizing data\. C error: ", "", detail)
        raise DataImportError(f"malformed {kind} ({detail})", file=str(path), row=row) from None


def raw_csv_header(path: Path, sep: str) -> list[str]:
    """The header row as written (duplicates kept), or [] when it cannot be read."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh, delimiter=sep), [])
    except (UnicodeDecodeError, csv.Error, OSError):
        return []


def csv_header(path: Path, sep: str) -> list[str]:
    return raw_csv_header(path, sep)


def _first_record_width(path: Path, sep: str) -> int:
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=sep)
            next(reader, None)
            for fields in reader:
                if fields:
                    return len(fields)
    except (UnicodeDecodeError, csv.Error, OSError):
        pass  # the full read reports it
    return 0


def _first_undecodable_row(path: Path, sep: str) -> int | None:
    """Data row (1-based, as the importer counts: records, not lines; blank lines skipped)
    holding the first byte sequence that is not UTF-8."""
    csv.field_size_limit(sys.maxsize)  # pandas reads fields of any length; so must this
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        row = -1  # the header is row 0
        try:
            for fields in csv.reader(fh, delimiter=sep):
                if not fields:
                    continue
                row += 1
                if any(_UNDECODED.search(f) for f in fields):
                    return max(row, 1)
        except csv.Error:
            return None
    return None


_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape could not decode


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
            except (ValueError, RecursionError) as exc:
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
                yield first, _object_frame(rows)
                first += len(rows)
                rows = []
    if rows:
        yield first, _object_frame(rows)
    elif row == 0:
        raise DataImportError("the file has no rows", file=str(path))


def _object_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as given: ints stay ints (no float conversion through missing values), strings
    are not re-encoded (the importer validates them)."""
    return pd.DataFrame(rows, dtype=object)


# -- Label Studio JSON --------------------------------------------------------------------


def _label_studio_chunks(path: Path, document_root: str) -> Chunks:
    yield 1, read_tasks(path, document_root)


def _label_studio_csv_chunks(path: Path, document_root: str) -> Chunks:
    yield 1, read_csv_export(path, document_root)


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
