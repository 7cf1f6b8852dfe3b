"""Import a data file into a project: validate every row, then write all of it or nothing.

``import_file`` streams the file in chunks, validates each row against the column mapping
and the project's label set, skips duplicates (same content hash as a sample already in the
project or earlier in the file) and writes samples plus any given labels (as label events by
annotator ``import``) inside ONE transaction. Any invalid row raises
:class:`~labeler.errors.DataImportError` naming the file, row and column; cancelling raises
:class:`~labeler.errors.Cancelled`. In both cases the project is left exactly as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from labeler.data.payloads import Built, PayloadBuilder
from labeler.data.prefetch import prefetch
from labeler.data.readers import csv_header, file_kind, read_chunks
from labeler.errors import DataImportError
from labeler.progress import CancelToken, ProgressFn, no_progress
from labeler.store import Store
from labeler.store.samples import ImportBatch


@dataclass
class ColumnMapping:
    """Which columns of the file mean what. Unset fields get modality defaults."""

    id_column: str | None = None
    text_column: str | None = None
    image_column: str | None = None
    feature_columns: list[str] | None = None
    embedding_column: str | None = None
    label_column: str | None = None


@dataclass
class ImportReport:
    batch_id: int
    source: str
    rows: int
    added: int
    duplicates: int
    labels: int
    mapping: dict[str, Any] = field(default_factory=dict)
    duplicate_labels: int = 0  # labels on duplicate rows (not imported: the row was skipped)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a folder's file names and sizes (image folders)."""
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                h.update(f"{p.relative_to(path).as_posix()}\0{p.stat().st_size}\n".encode())
        return h.hexdigest()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def count_rows(path: Path) -> int | None:
    """Number of data rows, cheaply, for progress totals (None when unknown)."""
    kind = file_kind(path)
    if kind in ("csv", "tsv", "jsonl"):
        n = 0
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                n += block.count(b"\n")
        return max(n - (1 if kind != "jsonl" else 0), 0)
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception:  # noqa: BLE001 - the reader reports the real error
            return None
    return None


def resolve_mapping(
    store: Store, columns: list[str], mapping: ColumnMapping, source: str
) -> ColumnMapping:
    """Fill unset fields from the modality and check every named column exists."""
    info = store.info
    m = ColumnMapping(**asdict(mapping))
    cols = set(columns)

    def pick(*names: str) -> str | None:
        return next((n for n in names if n in cols), None)

    if m.id_column is None:
        m.id_column = pick("id")
    if m.label_column is None:
        m.label_column = pick("label", "labels")
    if info.modality == "text" and m.text_column is None:
        m.text_column = pick("text", "content", "sentence", "document")
        if m.text_column is None:
            raise DataImportError("no text column: name it with --text-column", file=source)
    if info.modality == "image" and m.image_column is None:
        m.image_column = pick("image", "image_path", "path", "file", "filename")
        if m.image_column is None and m.embedding_column is None:
            raise DataImportError("no image column: name it with --image-column", file=source)
    if info.modality == "tabular" and m.feature_columns is None:
        used = {m.id_column, m.label_column, m.embedding_column}
        m.feature_columns = [c for c in columns if c not in used]
        if not m.feature_columns and m.embedding_column is None:
            raise DataImportError(
                "no feature columns: name them with --feature-columns", file=source
            )
    seen: set[str] = set()
    for col in columns:
        if col in seen:
            raise DataImportError("the file names this column twice", file=source, column=col)
        seen.add(col)
    named = [m.id_column, m.text_column, m.image_column, m.embedding_column, m.label_column]
    named += list(m.feature_columns or [])
    for col in named:
        if col is not None and col not in cols:
            raise DataImportError(
                f"missing column (the file has: {', '.join(map(str, columns))})",
                file=source,
                column=col,
            )
    return m


def import_file(
    store: Store,
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    chunk_rows: int = 50_000,
) -> ImportReport:
    """Import ``path`` into ``store`` in one transaction. See the module docstring."""
    path = Path(path).expanduser().resolve()
    source = str(path)
    progress = progress or no_progress
    if not path.exists():
        raise DataImportError("no such file or folder", file=source)
    kind = file_kind(path)
    total = count_rows(path)
    digest = file_sha256(path)
    info = store.info  # loaded here, read by the parsing thread
    progress(0, total)
    state = _ParseState(store, path, kind, mapping or ColumnMapping())
    # Parsing and validation of the next chunk overlap with writing the current one.
    parsed = prefetch(state.chunks(chunk_rows, cancel))

    with store.samples.bulk_import(
        source, digest, {"kind": kind, "modality": info.modality}
    ) as batch:
        done = 0
        for first_row, n_rows, built in parsed:
            if cancel is not None:
                cancel.check()
            if built.external_ids and built.external_ids[0] is None:
                prefix = f"{batch.batch_id}:"
                built.external_ids = [prefix + str(first_row + i) for i in range(n_rows)]
            keep = _new_rows(batch, built, first_row, source, state.mapping)
            cols = built.columns(keep)
            labels = built.labels if keep is None else [built.labels[i] for i in keep]
            ids = batch.add_columns(*cols)
            labeled = [(sid, lab) for sid, lab in zip(ids, labels, strict=True) if lab is not None]
            if labeled:
                batch.add_labels([s for s, _ in labeled], [lab for _, lab in labeled])
            done += n_rows
            progress(done, total)
        if cancel is not None:
            cancel.check()
        if state.mapping is None or done == 0:
            raise DataImportError("the file has no data rows", file=source)
        report = ImportReport(
            batch_id=batch.batch_id,
            source=source,
            rows=done,
            added=batch.rows_added,
            duplicates=batch.duplicates,
            labels=batch.labels_added,
            mapping=asdict(state.mapping),
            duplicate_labels=batch.duplicate_labels,
        )
    return report


def _new_rows(
    batch: ImportBatch, built: Built, first_row: int, source: str, mapping: ColumnMapping | None
) -> list[int] | None:
    """Indexes of rows to insert (duplicates counted and left out), or None when all are new.

    Raises DataImportError when a new row's external id is already taken.
    """
    hashes = built.hashes
    ext = built.external_ids
    unique = set(hashes)
    if len(unique) == len(hashes) and batch.existing_hashes.isdisjoint(unique):
        if batch.existing_external_ids.isdisjoint(ext):
            return None
        keep_all = list(range(len(hashes)))
        _check_ids(batch, ext, keep_all, first_row, source, mapping)
        return keep_all
    keep: list[int] = []
    seen: set[str] = set()
    for i, h in enumerate(hashes):
        if h in batch.existing_hashes or h in seen:
            batch.duplicates += 1
            if built.labels[i] is not None:
                batch.duplicate_labels += 1
            continue
        seen.add(h)
        keep.append(i)
    _check_ids(batch, ext, keep, first_row, source, mapping)
    return keep


def _check_ids(
    batch: ImportBatch,
    ext: list[str | None],
    keep: list[int],
    first_row: int,
    source: str,
    mapping: ColumnMapping | None,
) -> None:
    for i in keep:
        if ext[i] in batch.existing_external_ids:
            raise DataImportError(
                f"id {ext[i]!r} is already used by another sample",
                file=source,
                row=first_row + i,
                column=mapping.id_column if mapping else None,
            )


class _ParseState:
    """Reads and validates chunks (in the prefetch thread); fixes the mapping on the way."""

    def __init__(self, store: Store, path: Path, kind: str, mapping: ColumnMapping) -> None:
        self.store = store
        self.path = path
        self.kind = kind
        self.user_mapping = mapping
        self.mapping: ColumnMapping | None = None

    def _resolve(self, columns: list[str], frame: pd.DataFrame | None) -> PayloadBuilder:
        m = self.user_mapping
        if self.kind == "images" and m.image_column is None and frame is not None:
            m = _image_folder_mapping(self.store, frame, m)
        self.mapping = resolve_mapping(self.store, columns, m, str(self.path))
        base = self.path if self.kind == "images" else self.path.parent
        return PayloadBuilder(self.store.info, self.mapping, str(self.path), base_dir=base)

    def chunks(
        self, chunk_rows: int, cancel: CancelToken | None
    ) -> Iterator[tuple[int, int, Built]]:
        builder: PayloadBuilder | None = None
        string_columns: set[str] | None = None
        if self.kind in ("csv", "tsv"):
            header = csv_header(self.path, "\t" if self.kind == "tsv" else ",")
            if header:
                builder = self._resolve(header, None)
                string_columns = set(header) - set(self.mapping.feature_columns or [])  # type: ignore[union-attr]
        for first_row, frame in read_chunks(self.path, chunk_rows, string_columns):
            if cancel is not None and cancel.cancelled:
                return
            if builder is None:
                builder = self._resolve([str(c) for c in frame.columns], frame)
            yield first_row, len(frame), builder.build(frame, first_row)


def _image_folder_mapping(
    store: Store, frame: pd.DataFrame, mapping: ColumnMapping
) -> ColumnMapping:
    """Image folders: ``image`` is the path, ``id`` the relative path; subfolder names become
    labels when every image sits in a subfolder named after one of the project's labels."""
    m = ColumnMapping(**asdict(mapping))
    m.image_column = "image"
    m.id_column = m.id_column or "id"
    folders = frame["folder"]
    names = set(store.info.label_names)
    if m.label_column is None and folders.notna().all() and set(folders.unique()) <= names:
        m.label_column = "folder"
    return m
