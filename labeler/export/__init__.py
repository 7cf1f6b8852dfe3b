"""Dataset export (Qt-free): immutable, versioned snapshots in CSV, Parquet, JSONL and Label
Studio task JSON; see :mod:`labeler.export.snapshot`."""

from labeler.export.errors import ExportError
from labeler.export.snapshot import (
    FORMATS,
    ExportResult,
    default_export_path,
    export_dataset,
    verify_snapshot,
)

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportResult",
    "default_export_path",
    "export_dataset",
    "verify_snapshot",
]
