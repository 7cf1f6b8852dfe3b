"""Export the labeled samples of a project as an immutable, versioned snapshot.

A snapshot is the data file plus ``<file>.manifest.json`` (project, schema version, rows,
class counts, annotators, label policy, SHA-256 of the file, time), recorded in the
``export_snapshot`` table. The export streams in chunks (memory bounded by the chunk size),
reports progress, can be cancelled between chunks, and writes through a temporary file that is
moved into place only when complete: the final name never holds a half-written file. An
existing file is never overwritten (a snapshot is immutable); both files are made read-only.
Every chunk reads the labels as of one label cut, taken when the export starts and recorded
in the manifest (``as_of_event``): labels given during an export do not mix in.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeler.data.parsing import label_studio_root
from labeler.errors import Cancelled
from labeler.export.atomic import atomic_path, write_text_atomic
from labeler.export.errors import ExportError
from labeler.export.formats import FORMATS
from labeler.export.label_studio import TaskWriter, label_config
from labeler.export.policy import POLICIES, choose, needs_annotator_labels
from labeler.export.rows import payload_columns, to_record
from labeler.export.writers import CsvWriter, JsonlWriter, ParquetWriter
from labeler.hashing import file_sha256
from labeler.progress import CancelToken, ProgressFn, no_progress
from labeler.store import Store
from labeler.store.database import current_revision, utcnow
from labeler.store.export_queries import (
    annotator_labels,
    finish_snapshot,
    iter_labeled,
    next_snapshot_version,
    release_snapshot,
    reserve_snapshot,
)
from labeler.store.label_cut import LabelSetHash, label_watermark
from labeler.store.label_studio_events import label_times
from labeler.store.overlap import OverlapSettings

MANIFEST_SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest_path: Path
    manifest: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.manifest["snapshot_version"])


def manifest_path_for(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


def default_export_path(store: Store, fmt: str, version: int | None = None) -> Path:
    """``<project>/exports/<name>-v<N>.<ext>`` for snapshot ``version`` (default: the next
    one, a hint only; ``export_dataset(out=None)`` names the file after the version it
    reserved, which is race-free)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if version is None:
        version = next_snapshot_version(store)
    folder = store.artifacts_dir / "exports"
    return folder / f"{store.info.name}-v{version}{FORMATS[fmt]}"


def _check_target(out: Path) -> None:
    for target in (out, manifest_path_for(out)):
        if target.exists():
            raise ExportError(
                f"{target}: already exists; an export is an immutable snapshot, choose a new path"
            )
    if not out.parent.is_dir():
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"{out.parent}: cannot create folder ({exc.strerror})") from None


def export_dataset(
    store: Store,
    fmt: str,
    out: str | Path | None = None,
    *,
    policy: str = "latest",
    as_of: int | None = None,
    chunk_size: int = 20_000,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Write the labeled samples of ``store`` to ``out`` in format ``fmt``; see the module doc.

    ``as_of``: export the labels as they were right after label event ``as_of`` (a run's
    ``training_labels`` cut: exactly the labels that model was trained on). Without it the
    export takes the project's current cut when it starts
    (:func:`~labeler.store.label_cut.label_watermark`), so every chunk reads the same label
    set: labels given while it runs do not mix in. The manifest records the cut
    (``as_of_event``) and ``label_set_sha256``, the hash of the exported ``(sample_id,
    labels)`` pairs (:class:`~labeler.store.label_cut.LabelSetHash`), comparable with a run's.

    The snapshot version is reserved before writing (unique per project even when exports
    run concurrently); without ``out`` the file is ``<project>/exports/<name>-v<version>``."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if policy not in POLICIES:
        raise ExportError(f"unknown label policy {policy!r}; use one of {', '.join(POLICIES)}")
    if out is not None:
        out = Path(out).expanduser().resolve()
        _check_target(out)
    if as_of is None:  # one label cut for the whole export, as a retrain takes
        as_of = label_watermark(store)
    version = reserve_snapshot(store, fmt=fmt, path="" if out is None else str(out))
    try:
        if out is None:
            out = default_export_path(store, fmt, version).resolve()
            _check_target(out)
        return _export(store, fmt, out, version, policy, as_of, chunk_size, progress, cancel)
    except BaseException:
        with contextlib.suppress(Exception):  # never hide the export's own error
            release_snapshot(store, version)
        raise


def _export(
    store: Store,
    fmt: str,
    out: Path,
    version: int,
    policy: str,
    as_of: int | None,
    chunk_size: int,
    progress: ProgressFn | None,
    cancel: CancelToken | None,
) -> ExportResult:
    manifest_file = manifest_path_for(out)
    progress = progress or no_progress
    info = store.info
    overlap = OverlapSettings.from_settings(info.settings)
    total = store.labels.labeled_count()
    progress(0, total)
    root = label_studio_root(info)

    class_counts: Counter[str] = Counter({name: 0 for name in info.label_names})
    annotators: Counter[str] = Counter()
    label_set = LabelSetHash()
    rows = excluded = done = 0
    try:
        with atomic_path(out) as tmp:
            writer: Any = None
            columns: list[str] | None = None
            try:
                for chunk in iter_labeled(store, chunk_size, as_of=as_of):
                    if cancel is not None:
                        cancel.check()
                    if columns is None:
                        columns = payload_columns(info, chunk)
                        writer = _open(fmt, tmp, columns, info.multi_label, info.modality, root)
                    per_annotator = (
                        annotator_labels(
                            store, [r.sample_id for r in chunk if r.n_annotators > 1], as_of
                        )
                        if needs_annotator_labels(policy)
                        else {}
                    )
                    records, who, kept = [], [], []
                    for r in chunk:
                        labels = choose(
                            policy,
                            current=r.labels,
                            adjudicated=r.adjudicated,
                            disagreement=r.disagreement,
                            per_annotator=per_annotator.get(r.sample_id, ()),
                            awaiting=r.n_annotators < overlap.required(r.sample_id),
                        )
                        if labels is None:
                            excluded += 1
                            continue
                        records.append(to_record(info, r, labels, columns))
                        kept.append(r.sample_id)
                        label_set.update(r.sample_id, labels)
                        who.append(r.annotator)
                        class_counts.update(labels)
                        if r.annotator:
                            annotators[r.annotator] += 1
                    if fmt == "label-studio":
                        times = given_times(store, [r.sample_id for r in chunk])
                        writer.write_tasks(records, who, [times.get(s, (None, None)) for s in kept])
                    else:
                        writer.write(records)
                    rows += len(records)
                    done += len(chunk)
                    progress(done, total)
                if cancel is not None:
                    cancel.check()
                if writer is None:
                    columns = payload_columns(info, [])
                    writer = _open(fmt, tmp, columns, info.multi_label, info.modality, root)
            finally:
                if writer is not None:
                    writer.close()
            digest = file_sha256(tmp)
            size = tmp.stat().st_size
    except FileExistsError:
        raise ExportError(f"{out}: appeared while exporting; nothing was overwritten") from None
    except Cancelled:
        raise
    except OSError as exc:
        raise ExportError(f"{out}: cannot write ({exc.strerror or exc})") from None

    manifest = {
        "manifest_version": 1,
        "project": info.name,
        "modality": info.modality,
        "task_type": info.task_type,
        "labels": info.label_names,
        "snapshot_version": version,
        "format": fmt,
        "file": out.name,
        "schema_version": current_revision(store.engine),
        "rows": rows,
        "excluded": excluded,
        "class_counts": dict(class_counts),
        "annotators": dict(sorted(annotators.items())),
        "label_policy": policy,
        "as_of_event": as_of,
        "label_set_sha256": label_set.hexdigest(),
        "sha256": digest,
        "bytes": size,
        "created_at": utcnow().isoformat(timespec="seconds") + "Z",
    }
    if fmt == "label-studio":  # how to show the tasks in Label Studio, and where images are
        manifest["label_studio"] = {"document_root": root, "label_config": label_config(info)}
    write_text_atomic(manifest_file, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    for path in (out, manifest_file):
        os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    finish_snapshot(store, version=version, path=str(out), manifest=manifest)
    return ExportResult(out, manifest_file, manifest)


def _open(
    fmt: str, path: Path, columns: list[str], multi_label: bool, modality: str, root: str
) -> Any:
    if fmt == "csv":
        return CsvWriter(path, columns)
    if fmt == "jsonl":
        return JsonlWriter(path)
    if fmt == "parquet":
        return ParquetWriter(path, columns, multi_label)
    return TaskWriter(path, modality, root)


def given_times(store: Store, sample_ids: list[int]) -> dict[int, tuple[Any, int | None]]:
    """When each sample's current label was given and how long it took."""
    with store.read() as conn:
        return label_times(conn, store.project_id, sample_ids)


def verify_snapshot(path: str | Path) -> dict[str, Any]:
    """Check a snapshot file against its manifest; returns the manifest or raises ExportError."""
    path = Path(path)
    mpath = manifest_path_for(path)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{mpath}: no manifest next to the export") from None
    actual = file_sha256(path)
    if actual != manifest.get("sha256"):
        raise ExportError(f"{path}: content does not match its manifest (SHA-256 differs)")
    return manifest
