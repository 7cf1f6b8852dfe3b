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
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labeler.data.parse_process import ProcessChunks
from labeler.data.parsing import ColumnMapping, ParseState
from labeler.data.payloads import Built
from labeler.data.prefetch import prefetch
from labeler.data.readers import file_kind
from labeler.errors import DataImportError
from labeler.hashing import file_sha256
from labeler.progress import CancelToken, ProgressFn, no_progress
from labeler.store import Store
from labeler.store.label_studio_events import append_given, find_samples
from labeler.store.samples import ExternalIdTaken, ImportBatch

__all__ = ["ColumnMapping", "ImportReport", "count_rows", "source_sha256", "import_file"]

PROCESS_PARSE_MIN_BYTES = 32 * 1024 * 1024
# Tabular row format written by this version (labeler.data.json_rows); recorded per import
# batch. Batches without it hold format 1, whose rows are also matched when deduplicating.
ROW_FORMAT = 2


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


def source_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a folder's file names and sizes (image folders)."""
    if not path.is_dir():
        return file_sha256(path)
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file():
            h.update(f"{p.relative_to(path).as_posix()}\0{p.stat().st_size}\n".encode())
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


def import_file(
    store: Store,
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    chunk_rows: int = 50_000,
    parse_in_process: bool | None = None,
) -> ImportReport:
    """Import ``path`` into ``store`` in one transaction. See the module docstring.

    ``parse_in_process``: parse and validate in a child process (two cores: one parses, one
    writes). By default only for files of at least 32 MB, where it pays for its start-up.
    """
    path = Path(path).expanduser().resolve()
    source = str(path)
    progress = progress or no_progress
    if not path.exists():
        raise DataImportError("no such file or folder", file=source)
    kind = file_kind(path)
    info = store.info  # loaded here, read by the parsing thread
    legacy = store.samples.has_legacy_rows()
    state = ParseState(info, path, kind, mapping or ColumnMapping(), legacy_hashes=legacy)
    if parse_in_process is None:
        parse_in_process = path.is_file() and path.stat().st_size >= PROCESS_PARSE_MIN_BYTES
    if parse_in_process:
        # the child starts now: its start-up overlaps with counting and hashing the file
        parsed: Any = ProcessChunks(state, chunk_rows)
    else:
        # Parsing and validation of the next chunk overlap with writing the current one.
        parsed = prefetch(state.chunks(chunk_rows, cancel))

    # closing(): stop the parser (thread or process) whenever the import ends, error or not
    with closing(parsed):
        total = count_rows(path)
        digest = source_sha256(path)
        progress(0, total)
        with store.samples.bulk_import(
            source, digest, {"kind": kind, "modality": info.modality, "row_format": ROW_FORMAT}
        ) as batch:
            done = 0
            for first_row, n_rows, built in parsed:
                if cancel is not None:
                    cancel.check()
                if built.external_ids and built.external_ids[0] is None:
                    prefix = f"{batch.batch_id}:"
                    built.external_ids = [prefix + str(first_row + i) for i in range(n_rows)]
                keep = _new_rows(batch, built)
                cols = built.columns(keep)
                labels = built.labels if keep is None else [built.labels[i] for i in keep]
                try:
                    ids = batch.add_columns(*cols)
                except ExternalIdTaken as taken:
                    i = taken.index if keep is None else keep[taken.index]
                    raise DataImportError(
                        f"id {built.external_ids[i]!r} is already used by another sample",
                        file=source,
                        row=first_row + i,
                        column=state.mapping.id_column if state.mapping else None,
                    ) from None
                if built.given is not None:
                    _add_given(store, batch, built, keep, ids)
                else:
                    labeled = [
                        (sid, lab) for sid, lab in zip(ids, labels, strict=True) if lab is not None
                    ]
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


def _add_given(
    store: Store, batch: ImportBatch, built: Built, keep: list[int] | None, ids: list[int]
) -> None:
    """Label Studio annotations as label events: on the new samples, and on samples the
    project already holds (a round trip; see :mod:`labeler.store.label_studio_events`)."""
    given = built.given or []
    rows = range(len(given)) if keep is None else keep
    new = [(sid, given[i]) for sid, i in zip(ids, rows, strict=True) if given[i]]
    added = append_given(batch.conn, store.project_id, new, existing=False)
    kept = set(rows)
    dupes = [i for i in range(len(given)) if i not in kept and given[i]]
    if dupes:
        found = find_samples(
            batch.conn,
            store.project_id,
            [built.external_ids[i] for i in dupes],
            [built.hashes[i] for i in dupes],
        )
        old = [(sid, given[i]) for sid, i in zip(found, dupes, strict=True) if sid is not None]
        added += append_given(batch.conn, store.project_id, old, existing=True)
        batch.duplicate_labels -= sum(1 for i in dupes if built.labels[i] is not None)
    batch.labels_added += added


def _new_rows(batch: ImportBatch, built: Built) -> list[int] | None:
    """Indexes of rows to insert (duplicates counted and left out), or None when all are new."""
    hashes = built.hashes
    legacy = built.legacy_hashes
    existing = batch.existing_hashes
    unique = set(hashes)
    if (
        len(unique) == len(hashes)
        and existing.isdisjoint(unique)
        and (legacy is None or existing.isdisjoint(legacy))
    ):
        return None
    keep: list[int] = []
    seen: set[str] = set()
    for i, h in enumerate(hashes):
        if h in existing or h in seen or (legacy is not None and legacy[i] in existing):
            batch.duplicates += 1
            if built.labels[i] is not None:
                batch.duplicate_labels += 1
            continue
        seen.add(h)
        keep.append(i)
    return keep
